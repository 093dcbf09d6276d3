"""Property tests: any input is stored exactly or refused with InvalidEntryError, never half."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moodlens_journal import InvalidEntryError, Journal, parse_day
from moodlens_journal._values import check_tags

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
)


@SETTINGS
@given(mood=anything)
def test_any_mood_is_one_to_five_or_refused(journal: Journal, mood):
    before = journal.counts()["entries"]
    try:
        entry = journal.add_entry(mood)
    except InvalidEntryError as e:
        assert "1 to 5" in str(e)
        assert journal.counts()["entries"] == before
    else:
        assert entry.mood in {1, 2, 3, 4, 5} and str(entry.mood) == str(mood).strip()


@SETTINGS
@given(
    note=st.one_of(st.none(), st.text(max_size=200)),
    tags=st.lists(st.text(max_size=12), max_size=4),
)
def test_any_note_and_tags_round_trip_or_are_refused(journal: Journal, note, tags):
    before = journal.counts()
    try:
        entry = journal.add_entry(3, note, tags)
    except InvalidEntryError:
        assert journal.counts() == before
        return
    (stored,) = [e for e in journal.entries() if e.id == entry.id]
    assert stored.note == ((note or "").strip() or None)
    assert set(stored.tags) == set(check_tags(tags))


@given(text=st.text(max_size=16))
def test_any_date_text_is_a_day_or_an_unknown_date(text):
    today = date(2024, 5, 6)
    try:
        day = parse_day(text, today=today)
    except InvalidEntryError as e:
        assert "unknown date" in str(e) or "in the future" in str(e)
    else:
        assert day <= today


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2024, 5, 6)),
        ("Yesterday", date(2024, 5, 5)),
        ("-7", date(2024, 4, 29)),
        ("2024-02-29", date(2024, 2, 29)),
        (" 2024-05-06 ", date(2024, 5, 6)),
    ],
)
def test_known_dates(text, expected):
    assert parse_day(text, today=date(2024, 5, 6)) == expected
