{{ family_probing('generic', var('generic_injection_window'), var('generic_injection_min_urls')) }}
