{{ family_probing('ssi', var('ssi_injection_window'), var('ssi_injection_min_urls')) }}
