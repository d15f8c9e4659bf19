"""HTTP: ``/metrics``, ``/healthz``, the JSON API and the pages, on one aiohttp server.

``app.py`` holds the routes, limits and errors (the only aiohttp importer); ``exchange.py``
the plain request and reply values and input rules; ``auth.py`` sign-in, sessions and who
sees what; ``ui.py`` the pages' handlers, drawn from ``views.py``'s values with the Jinja2
templates in ``templates/`` (``format.py`` and ``words.py`` say how values read, in English
or Japanese); ``static/`` the pages' stylesheet and script.
"""

from monitor.web.app import IN_FLIGHT, Limits, make_app, serve
from monitor.web.auth import Customer
from monitor.web.backend import Backend

__all__ = ["IN_FLIGHT", "Backend", "Customer", "Limits", "make_app", "serve"]
