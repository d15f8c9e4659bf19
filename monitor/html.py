"""HTML templates: the one Jinja2 environment, with autoescape, for every page slawatch draws.

The status page (``monitor/web``), the monthly report (``monitor/report``) and the notices'
HTML part (``monitor/notify``) each keep their templates beside their renderer, in
``<package>/templates/``; they render them through :func:`render`, so every value that reaches
a page is escaped unless a template says otherwise, on purpose. The only module that imports
jinja2: a leaf below the adapters, importing nothing of ours.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@functools.cache
def environment(package: str) -> Environment:
    """The environment for ``package``'s templates (``monitor.web`` -> monitor/web/templates).
    Autoescape on, undefined names are errors, whitespace as written."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(package: str, template: str, /, **values: Any) -> str:
    """``template`` of ``package`` filled with ``values``."""
    return environment(package).get_template(template).render(**values)
