{{ family_probing('sqli', var('sqli_probing_window'), var('sqli_probing_min_urls')) }}
