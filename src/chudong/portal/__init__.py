"""Web portals: citizen, officer, data steward, leader and public pages (server-rendered, htmx)."""
