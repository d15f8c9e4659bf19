"""HTML templates: the one Jinja2 environment, with autoescape, for every page slawatch draws.

The status page (``monitor/web``), the monthly report (``monitor/report``) and the notices'
HTML part (``monitor/notify``) each keep their templates beside their renderer, in
``<package>/templates/``; they render them through :func:`render`, so every value that reaches
a page is escaped unless a template says otherwise, on purpose. A piece that is the same in
many places of a big page (the report's day ticks) can be drawn once by a template macro
(:func:`macro`) and placed as it is; the rows of a page of a million values can be drawn in
Python, each value escaped by :func:`text` (the same bytes as autoescape). The only module
that imports jinja2 (and its markupsafe): a leaf below the adapters, importing nothing of
ours.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup as Markup  # for the renderers' types: pieces drawn ahead
from markupsafe import escape


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


def macro(package: str, template: str, name: str, /) -> Callable[..., Markup]:
    """Macro ``name`` of ``template`` (a file of macros only), to call from Python. What it
    returns was escaped by its own template's autoescape, so it is :class:`Markup`: another
    template places it as it is, not escaped twice. For pieces drawn once and placed many
    times; their values get no other escaping than the macro's."""
    module = environment(package).get_template(template).module
    return cast("Callable[..., Markup]", getattr(module, name))


def text(value: str) -> str:
    """``value`` escaped as autoescape escapes it (markupsafe's ``escape``: ``& < > ' "``),
    as a plain string, for markup drawn in Python and then placed as :class:`Markup`. The same
    bytes as the template's escaping; the same speed for text that needs it, and for the
    common text that does not (digits, dates, words), no call to markupsafe and no Markup made:
    a year's report escapes a million values, and escape() costs a microsecond each."""
    if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
        return str(escape(value))
    return value
