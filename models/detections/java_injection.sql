{{ family_probing('java', var('java_injection_window'), var('java_injection_min_urls')) }}
