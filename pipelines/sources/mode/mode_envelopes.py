"""The page envelopes of Mode's audit_logs we can justify reading; any other body fails its window.

Mode documents the entry object but not the list envelope. Recognised (mode-sdk reads exactly these):
- flat: {"audit_logs": [...], "next_token": "..." | null}, or the cursor under {"pagination": {"next_token"}};
- embedded: {"_embedded": {"audit_logs": [...]}, "next_token": ...};
- HAL (Mode's usual collection form): {"_embedded": {"audit_logs": [...]}, "_links": {"next": {"href": ...}}}.
Anything else is an error naming the keys seen: reading an unknown shape as "no entries" would mark the
window done and move the cursor past events that were never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from pipelines.sources.common.errors import SourceError

RECOGNISED = (
    '{"audit_logs": [...], "next_token": ...}, {"audit_logs": [...], "pagination": {"next_token": ...}}, '
    '{"_embedded": {"audit_logs": [...]}, "next_token": ...} or HAL '
    '{"_embedded": {"audit_logs": [...]}, "_links": {"next": {"href": ...}}}'
)


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_token: str | None = None
    next_href: str | None = None


def _keys(body: dict[str, Any]) -> str:
    """The keys of a body, nested one level, for an error message (never values: they may be personal data)."""
    parts = []
    for key, value in list(body.items())[:20]:
        if isinstance(value, dict):
            inner = ", ".join(str(k) for k in list(value)[:10])
            parts.append(f"{key} {{{inner}}}")
        else:
            parts.append(str(key))
    return ", ".join(parts) or "none"


def _unrecognised(what: str) -> SourceError:
    return SourceError(
        f"Mode audit_logs answered HTTP 200 with a body auditlake does not recognise ({what}); expected "
        f"{RECOGNISED}. Nothing of this window was loaded and the cursor did not move: Mode may have changed "
        "its API; upgrade auditlake, or report this message (it names keys only) to its maintainers"
    )


def read_page(body: Any) -> Page:
    """Entries and the next-page reference of one page; SourceError for a shape not listed above."""
    if not isinstance(body, dict):
        raise _unrecognised(f"a JSON {type(body).__name__}, not an object")
    if "audit_logs" in body:
        items = body["audit_logs"]
    else:
        embedded = body.get("_embedded")
        items = embedded.get("audit_logs") if isinstance(embedded, dict) else None
        if items is None:
            raise _unrecognised(f"keys: {_keys(body)}")
    if not isinstance(items, list):
        raise _unrecognised(f"`audit_logs` is a JSON {type(items).__name__}, not an array")
    token = body.get("next_token")
    if token is None and isinstance(body.get("pagination"), dict):
        token = body["pagination"].get("next_token")
    links = body.get("_links")
    next_link = links.get("next") if isinstance(links, dict) else None
    href = next_link.get("href") if isinstance(next_link, dict) else None
    return Page(
        items, token if isinstance(token, str) and token else None, href if isinstance(href, str) and href else None
    )


def same_origin_next(current_url: str, href: str, base_url: str) -> str:
    """The absolute next-page URL of a HAL link, refused unless it stays on the configured Mode host:
    the request carries the workspace's Basic credentials."""
    absolute = urljoin(current_url, href)
    here, there = urlsplit(base_url), urlsplit(absolute)
    if (here.scheme, here.netloc) != (there.scheme, there.netloc):
        raise SourceError(
            f"Mode audit_logs pointed its next page at another host ({there.scheme}://{there.hostname}); auditlake "
            "does not send the workspace credentials there. Check SOURCES__MODE__BASE_URL"
        )
    return absolute
