{#- Distinct sensitive files (seed sensitive_files: .env, .git/config, backups, …) asked for by one IP. -#}
{{ flagged_probing('listed_requests', 'sensitive_path', "split_part(url, '?', 1)", var('sensitive_files_window'), var('sensitive_files_min_paths')) }}
