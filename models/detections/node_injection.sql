{{ family_probing('node', var('node_injection_window'), var('node_injection_min_urls')) }}
