"""Grafana: dashboards from grafanalib files, alert rules, an offline preview, and the HTTP client."""
