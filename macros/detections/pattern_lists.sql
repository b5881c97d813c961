{#- Generated from the classifier's data (secmon/core/classify) by `secmon patterns`: do not edit by hand. -#}

{#- The payload families a request can be tagged with (`family:<name>`), sorted. -#}
{% macro attack_families() -%}
{{ return(["command_injection", "crlf", "generic", "java", "ldap", "node", "path_traversal", "php", "rfi", "sensitive_file", "session_fixation", "sqli", "ssi", "ssrf", "template_injection", "webshell", "xss"]) }}
{%- endmacro %}

{#- CrowdSec hub leaky buckets (requests tagged `bucket:<name>`): [name, distinct SQL or '',
    capacity, leak seconds]. -#}
{% macro hub_buckets() -%}
{{ return([
 [
  "LePresidente/http-generic-401-bf",
  "",
  5,
  10.0
 ],
 [
  "LePresidente/http-generic-403-bf",
  "",
  5,
  10.0
 ],
 [
  "baudneo/zoneminder_cve-2022-39291",
  "",
  10,
  10.0
 ],
 [
  "crowdsecurity/CVE-2022-41697",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/CVE-2022-46169-bf",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/CVE-2024-38475",
  "split_part(url, '?', 1)",
  3,
  10.0
 ],
 [
  "crowdsecurity/http-apiscp-bf",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/http-bf-wordpress_bf",
  "",
  5,
  10.0
 ],
 [
  "crowdsecurity/http-bf-wordpress_bf_xmlrpc",
  "",
  5,
  120.0
 ],
 [
  "crowdsecurity/http-dos-bypass-cache",
  "split_part(url, '?', 2)",
  30,
  1.0
 ],
 [
  "crowdsecurity/http-dos-random-uri",
  "",
  30,
  1.0
 ],
 [
  "crowdsecurity/http-sap-interface-probing",
  "url",
  1,
  10.0
 ],
 [
  "crowdsecurity/http-wordpress-scan",
  "split_part(url, '?', 1)",
  3,
  10.0
 ],
 [
  "crowdsecurity/http-wordpress_user-enum",
  "split_part(url, '?', 2)",
  5,
  10.0
 ],
 [
  "crowdsecurity/http-wordpress_wpconfig",
  "split_part(url, '?', 1)",
  5,
  10.0
 ]
]) }}
{%- endmacro %}
