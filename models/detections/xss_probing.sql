{{ family_probing('xss', var('xss_probing_window'), var('xss_probing_min_urls')) }}
