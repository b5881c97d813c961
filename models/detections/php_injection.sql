{{ family_probing('php', var('php_injection_window'), var('php_injection_min_urls')) }}
