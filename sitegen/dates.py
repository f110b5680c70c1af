"""Front-matter dates: the forms editors write (``2026-11-28 09:30``, ``2026/11/28``, ``2026.11.28``,
``2026年11月28日``, full-width digits, an offset), read in the site's time zone, and for a date that cannot be
read, what is wrong with it in Chinese — a day that does not exist says which (``2026 年 2 月没有 29 日``, case B41).
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import datetime

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S",
                "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
"""The date forms accepted (after NFKC, so full-width digits typed with a Chinese input method count)."""
_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                         r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$")


def parse_date(value: str, tz) -> datetime:
    """Parse a front-matter date: ``2026-11-28``, ``2026-11-28 09:30``, with seconds, ``T`` separator, ``/``,
    ``.`` or ``年月日``, full-width digits, and an optional offset (``+08:00``, ``Z``). A naive time is in ``tz``
    (the site's time zone). Raises ``ValueError`` whose message says what is wrong (see :func:`date_error`)."""
    s = unicodedata.normalize("NFKC", value).strip().replace("T", " ", 1)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*?\d)\s*([+-]\d{2}):?(\d{2})$", s)
    try:
        if m and re.search(r"\d:\d\d", m.group(1)):
            return datetime.fromisoformat(f"{m.group(1)}{m.group(2)}:{m.group(3)}").astimezone(tz)
    except ValueError:
        raise ValueError(date_error(value)[0]) from None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(date_error(value)[0])


def date_error(value: str) -> tuple[str, str]:
    """``(message, hint)`` in Chinese for a date :func:`parse_date` refused: a day or month that does not exist
    (``2026 年 2 月没有 29 日`` and the last day of that month), an hour or minute out of range, or else the
    forms accepted."""
    m = _DATE_PARTS.match(unicodedata.normalize("NFKC", value[:100]).strip())
    if m:
        year, month, day = (int(x) for x in m.group(1, 2, 3))
        if not 1 <= month <= 12:
            return f"日期不存在：{year} 年没有 {month} 月", "月份应为 1–12，例如 2026-11-28"
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            return (f"日期不存在：{year} 年 {month} 月没有 {day} 日",
                    f"{year} 年 {month} 月只有 {last} 天，请改成实际的日期，例如 {year}-{month:02d}-{last:02d}")
        hour, minute, second = (int(x or 0) for x in m.group(4, 5, 6))
        if hour > 23 or minute > 59 or second > 59:
            return f"时间不存在：{m.group(4)}:{m.group(5)}", "小时应为 0–23，分钟应为 0–59，例如 09:30"
    return f"日期格式无法识别：\"{value[:40]}\"", "应为 2026-11-28 或 2026-11-28 09:30"


__all__ = ["DATE_FORMATS", "parse_date", "date_error"]
