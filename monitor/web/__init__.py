"""HTTP: ``/metrics``, ``/healthz``, the JSON API and the pages, on one aiohttp server.

``app.py`` holds the routes, limits and errors (the only aiohttp importer); ``page.py`` the
plain view values the pages are drawn from and their rendering.
"""

from monitor.web.app import IN_FLIGHT, Backend, Limits, make_app, serve

__all__ = ["IN_FLIGHT", "Backend", "Limits", "make_app", "serve"]
