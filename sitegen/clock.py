"""The one build clock: what "now" is for a build, a check, a new article and the templates."""
from __future__ import annotations

import os
from datetime import datetime

from sitegen.config import Config


def now_in(config: Config) -> datetime:
    """The build clock, aware, in the site's time zone (``config.tz``): ``SITEGEN_NOW`` (ISO 8601 or
    ``YYYY-MM-DD HH:MM``, read in the site's time zone; for tests and previews) or the system clock.
    Raises :class:`ValueError` when ``SITEGEN_NOW`` cannot be read."""
    forced = os.environ.get("SITEGEN_NOW")
    if forced:
        from sitegen.content import parse_date

        return parse_date(forced, config.tz)
    return datetime.now(config.tz)
