"""Facts in the form a person reads at 3 a.m.: times with their weekday and how far away they
are, sentences that start with a capital, and outside text that cannot turn into Markdown.

    when(moment, now)  -> "Sat 6 Dec 01:00 UTC (in 3 h)"
    sentence("verified: the VM is healthy") -> "Verified: the VM is healthy."
    plain("[link](http://x)") -> "\\[link\\]\\(http://x\\)"  (for Adaptive Card TextBlocks)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from arm import parse_time


def utc(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def clock(moment: datetime) -> str:
    """`Sat 6 Dec 01:00 UTC`: the weekday says which night, the minute is precise enough."""
    at = utc(moment)
    return f"{at:%a} {at.day} {at:%b %H:%M} UTC"


def distance(moment: datetime, now: datetime) -> str:
    """`in 3 h`, `25 min ago`, `now`."""
    seconds = (utc(moment) - utc(now)).total_seconds()
    span = abs(seconds)
    if span < 60:
        return "now"
    if span < 3600:
        amount = f"{round(span / 60)} min"
    elif span < 48 * 3600:
        hours = round(span / 1800) / 2  # to the half hour: "in 3.5 h"
        amount = f"{hours:.0f} h" if hours >= 10 or hours.is_integer() else f"{hours:.1f} h"
    else:
        amount = f"{round(span / 86400)} days"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def when(moment: datetime, now: datetime | None = None) -> str:
    """`Sat 6 Dec 01:00 UTC (in 3 h)`; without `now`, the time alone."""
    return clock(moment) if now is None else f"{clock(moment)} ({distance(moment, now)})"


def window(start: datetime | None, end: datetime | None, now: datetime | None = None) -> str:
    if start and end:
        return f"{when(start, now)} to {clock(end)}"
    if start:
        return f"from {when(start, now)}, end not announced"
    return f"until {when(end, now)}" if end else ""


_ISO = re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def humanise_times(text: str) -> str:
    """ISO timestamps in a text (a reason written by the pipeline) as a person reads them:
    `2026-12-06T01:00:00.123456+00:00` becomes `Sun 6 Dec 01:00 UTC`."""
    def one(m: re.Match) -> str:
        found = parse_time(f"{m.group(1)}T{m.group(2)}{m.group(3) or '+00:00'}")
        return clock(found) if found else m.group(0)

    return _ISO.sub(one, text)


def sentence(text: str | None) -> str:
    """Capitalised after every full stop, ending in one, times in human form; empty stays empty."""
    text = humanise_times(" ".join((text or "").split()))
    if not text:
        return ""
    text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text if text[-1] in ".!?" else text + "."


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# Characters Markdown (as Teams renders it in a TextBlock) gives a meaning to anywhere in a line:
# links and images need their brackets, emphasis its stars and underscores, autolinks their <>.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>~])")
_LIST_START = re.compile(r"^(\s*)(\d+)\.", re.MULTILINE)  # "1." starts a list only at a line's start
_LINE_START = re.compile(r"^(\s*)([-+#])", re.MULTILINE)  # so do "-", "+" and a heading's "#"


def plain(text: str) -> str:
    """Outside text (Azure's words, resource names, reasons) made inert for a card's TextBlock:
    no link, emphasis, heading or list is made of it; it reads the same."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _LIST_START.sub(lambda m: f"{m.group(1)}{m.group(2)}\\.", text)
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
