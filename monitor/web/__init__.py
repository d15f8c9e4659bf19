"""HTTP: ``/metrics``, ``/healthz``, the JSON API and the pages, on one aiohttp server.

``app.py`` holds the routes and errors, ``serve.py`` the connection limits (the two aiohttp
importers); ``exchange.py``
the plain request and reply values and input rules; ``auth.py`` sign-in, sessions and who
sees what; ``ui.py`` the pages' handlers, drawn from ``views.py``'s values with the Jinja2
templates in ``templates/`` (``format.py`` and ``words.py`` say how values read, in English
or Japanese); ``static/`` the pages' stylesheet and script.
"""

from monitor.web.app import make_app
from monitor.web.auth import Customer
from monitor.web.backend import Backend
from monitor.web.serve import IN_FLIGHT, Limits, serve

__all__ = ["IN_FLIGHT", "Backend", "Customer", "Limits", "make_app", "serve"]
