"""Who is calling: citizen, officer or the public (swappable by the portals)."""
