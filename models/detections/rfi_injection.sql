{{ family_probing('rfi', var('rfi_injection_window'), var('rfi_injection_min_urls')) }}
