{{ family_probing('ldap', var('ldap_injection_window'), var('ldap_injection_min_urls')) }}
