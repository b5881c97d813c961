# The secmon CLI with this project's dbt models, dashboards and seeds: the `secmon` service of
# deploy/docker-compose.yml, or `secmon follow` beside a web server.
FROM python:3.11-slim
WORKDIR /secmon
COPY . .
RUN pip install --no-cache-dir -e .
ENTRYPOINT ["secmon"]
CMD ["--help"]
