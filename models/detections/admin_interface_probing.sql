{#- Distinct admin interfaces (seed admin_interfaces) one IP asked for and was refused (403, 404). -#}
{{ flagged_probing('listed_requests', 'admin_probe', "lower(split_part(url, '?', 1))", var('admin_interface_probing_window'), var('admin_interface_probing_min_paths')) }}
