{{ family_probing('command_injection', var('command_injection_window'), var('command_injection_min_urls')) }}
