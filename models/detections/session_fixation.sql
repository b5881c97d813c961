{{ family_probing('session_fixation', var('session_fixation_window'), var('session_fixation_min_urls')) }}
