"""The portal's pages, one module each; each module's ``ROUTES`` is added to the app in
``portal.app``."""
