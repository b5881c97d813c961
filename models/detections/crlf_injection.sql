{{ family_probing('crlf', var('crlf_injection_window'), var('crlf_injection_min_urls')) }}
