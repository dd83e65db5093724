"""evidence.pdf: the pack's HTML (print variant) paginated by WeasyPrint.

WeasyPrint (PyPI) lays out HTML/CSS itself with pango (an OS library present on Debian/Ubuntu) - no browser,
no network: page numbers, the period and the generation time come from CSS @page margin boxes on every page.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.settings import ConfigurationError


def write_pdf(html: str, path: Path) -> None:
    try:
        import weasyprint
    except OSError as exc:  # the Python package is there but pango (or its fonts) is not
        raise ConfigurationError(
            f"cannot write {path.name}: WeasyPrint needs the pango library ({exc}); install it with "
            "`apt-get install -y libpango-1.0-0 libpangoft2-1.0-0` (or `make system-deps`)"
        ) from None
    # WeasyPrint logs every CSS property it does not support at WARNING; the pack's CSS is for both media
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # base_url: nothing is fetched (the HTML is self-contained); without it relative URLs would resolve to the cwd
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))
