"""The engine's HTTP listeners: the internal one (health, metrics; the portal later)."""
