"""The supplier portal: server-rendered pages (Starlette and Jinja2) on the engine's internal
listener, never on the partner-facing one. It calls the engine's services as the command line
does; ``portal.app.portal_app`` builds it (README, "Supplier portal")."""
