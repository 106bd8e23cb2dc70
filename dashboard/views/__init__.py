"""Page views: the dashboard, the profile pages and the run page."""
