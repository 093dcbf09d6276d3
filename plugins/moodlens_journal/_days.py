"""Local days: today, midnight, and a day or time as a UTC bound of a query."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

from ._errors import InvalidEntryError

__all__ = ["DayOrTime", "as_date", "bound", "local_date", "local_midnight", "local_today"]

DayOrTime = date | datetime


def local_today(tz: tzinfo | None = None) -> date:
    """Today in ``tz`` (None: the system's time zone)."""
    return datetime.now(timezone.utc).astimezone(tz).date()


def local_midnight(day: date, tz: tzinfo | None = None) -> datetime:
    """The start of a local day as an aware datetime (DST-correct for the system zone)."""
    if tz is None:
        return datetime.combine(day, time()).astimezone()  # naive = system local time
    return datetime.combine(day, time(), tzinfo=tz)


def local_date(moment: datetime, tz: tzinfo | None = None) -> date:
    """The local day of an aware datetime."""
    return moment.astimezone(tz).date()


def bound(value: DayOrTime | None, tz: tzinfo | None, *, end: bool) -> datetime | None:
    """A query bound in UTC: a datetime as is, a date as the start of that local day (or,
    with ``end``, of the day after: end days are inclusive).

    Raises:
        InvalidEntryError: neither a date nor a datetime.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return local_midnight(day, tz).astimezone(timezone.utc)
    raise InvalidEntryError(f"expected a date or a datetime, got {value!r}")


def as_date(value: date) -> date:
    """The date of a date or a datetime."""
    return value.date() if isinstance(value, datetime) else value
