"""The streak is one query and exact in every time zone; the package's seams hold."""

from __future__ import annotations

import ast
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from moodlens_journal import Journal, JournalPlugin

from .conftest import feed

UTC = timezone.utc
PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "moodlens_journal"


def _selects(journal: Journal, call):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    sa.event.listen(journal._engine, "before_cursor_execute", record)
    try:
        return call(), statements
    finally:
        sa.event.remove(journal._engine, "before_cursor_execute", record)


def _reference_streak(moments: list[datetime], day: date, tz) -> int:
    """The definition, day by day in Python."""
    active = {m.astimezone(tz).date() for m in moments}
    if day not in active:
        day -= timedelta(days=1)
    count = 0
    while day in active:
        count += 1
        day -= timedelta(days=1)
    return count


def test_a_long_streak_is_one_query(journal: Journal):
    last = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
    for back in range(120):
        journal.add_entry(3, at=last - timedelta(days=back))
    streak, selects = _selects(journal, lambda: journal.streak(date(2024, 5, 6), tz=UTC))
    assert streak == 120 and len(selects) == 1, selects
    summary, selects = _selects(journal, lambda: journal.daily_summary(date(2024, 5, 6), tz=UTC))
    assert summary.streak == 120
    assert len(selects) <= 5  # intervals, changes, entries (+ their tags), streak


@pytest.mark.parametrize(
    "zone",
    ["UTC", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham"],
)
def test_the_streak_counts_local_days_in_any_zone(journal: Journal, zone):
    """Offsets of :30 and :45, a 30-minute DST shift: moments just either side of local
    midnight, around a DST change, land on the right local day."""
    tz = ZoneInfo(zone)
    moments = []
    for k, day in enumerate(date(2024, 3, 25) + timedelta(days=i) for i in range(20)):
        if k == 12:
            continue  # a gap
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        moments.append(
            midnight + timedelta(minutes=1) if k % 2 else midnight - timedelta(minutes=1)
        )
    for m in moments:
        journal.add_entry(3, at=m)
    for day in (date(2024, 4, 6), date(2024, 4, 13), date(2024, 4, 14), date(2024, 4, 20)):
        assert journal.streak(day, tz=tz) == _reference_streak(moments, day, tz), day


def test_recorded_moods_count_for_the_streak(journal: Journal):
    start = datetime(2024, 5, 5, 23, 50, tzinfo=UTC)
    with JournalPlugin(journal=journal, interval=60.0, flush_every=60) as plugin:
        feed(plugin, start, [("happy", 30)])
    journal.add_entry(4, at=start - timedelta(days=1))
    assert journal.streak(date(2024, 5, 5), tz=UTC) == 2
    assert journal.streak(date(2024, 5, 6), tz=UTC) == 2  # a quiet day does not break it


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names |= {f"{base}.{a.name}" if node.module else f"{base}{a.name}" for a in node.names}
    return names


def test_the_chart_takes_data_not_the_journal():
    imported = _imports(PACKAGE / "_chart.py")
    assert not any("_journal" in n or "_queries" in n or "_db" in n for n in imported), imported
