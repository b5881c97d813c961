{{ family_probing('path_traversal', var('path_traversal_window'), var('path_traversal_min_urls')) }}
