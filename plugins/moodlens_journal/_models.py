"""The journal's tables, as typed SQLAlchemy 2.x ORM models (schema revision 0002).

Only aggregates are stored: mood readings are summed per interval and per
tracked face (never a row per frame), and no image or face crop is ever kept.
Times are timezone-aware UTC in Python; ``face_id`` NULL means the scene (the
stream's main face). The migrations in ``migrations/versions`` build exactly
these tables; a test compares them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moodlens import Emotion
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)

SCHEMA_REVISION = "0002"

# Stable constraint names, so migrations can alter them on every database.
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"journal times must be timezone-aware, got {value!r}")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class EmotionType(TypeDecorator[Emotion]):
    """An Emotion stored as its value ("happy")."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: Emotion | str | None, dialect: Dialect) -> str | None:
        return None if value is None else Emotion.parse(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Emotion | None:
        return None if value is None else Emotion(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class CaptureSessionRow(Base):
    """One run of a MoodStream (a camera session, a video file)."""

    __tablename__ = "capture_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    device: Mapped[str | None] = mapped_column(String(255))  # revision 0002
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    fps: Mapped[float | None] = mapped_column(Float)
    frames: Mapped[int | None] = mapped_column(Integer)

    intervals: Mapped[list[MoodIntervalRow]] = relationship(
        back_populates="session", passive_deletes=True
    )


def _score_column(emotion: Emotion) -> str:
    return f"score_{emotion.value}"


class MoodIntervalRow(Base):
    """Readings of one face (or of the scene) over one interval: mean scores and counts."""

    __tablename__ = "mood_intervals"
    __table_args__ = (
        CheckConstraint("frames > 0", name="frames_positive"),
        CheckConstraint("seconds >= 0", name="seconds_not_negative"),
        Index("ix_mood_intervals_started_at", "started_at"),  # revision 0002
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("capture_sessions.id", ondelete="CASCADE"), index=True
    )
    face_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offset: Mapped[float] = mapped_column(Float)  # interval start on the source's clock
    seconds: Mapped[float] = mapped_column(Float)
    frames: Mapped[int] = mapped_column(Integer)
    dominant: Mapped[Emotion] = mapped_column(EmotionType())
    score_angry: Mapped[float] = mapped_column(Float)
    score_disgust: Mapped[float] = mapped_column(Float)
    score_fear: Mapped[float] = mapped_column(Float)
    score_happy: Mapped[float] = mapped_column(Float)
    score_sad: Mapped[float] = mapped_column(Float)
    score_surprise: Mapped[float] = mapped_column(Float)
    score_neutral: Mapped[float] = mapped_column(Float)

    session: Mapped[CaptureSessionRow] = relationship(back_populates="intervals")

    @property
    def scores(self) -> dict[Emotion, float]:
        return {e: getattr(self, _score_column(e)) for e in EMOTIONS}

    def set_scores(self, scores: dict[Emotion, float]) -> None:
        for e in EMOTIONS:
            setattr(self, _score_column(e), float(scores[e]))


class MoodChangeRow(Base):
    """The steady mood of a face (or of the scene) changed."""

    __tablename__ = "mood_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("capture_sessions.id", ondelete="CASCADE"), index=True
    )
    face_id: Mapped[int | None] = mapped_column(Integer)
    previous: Mapped[Emotion | None] = mapped_column(EmotionType())
    current: Mapped[Emotion | None] = mapped_column(EmotionType())
    at: Mapped[float] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    confidence: Mapped[float] = mapped_column(Float)


entry_tags = Table(
    "entry_tags",
    Base.metadata,
    Column("entry_id", ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class EntryRow(Base):
    """What the user wrote: a mood on the 1-5 scale, a note and tags."""

    __tablename__ = "entries"
    __table_args__ = (CheckConstraint("mood BETWEEN 1 AND 5", name="mood_1_to_5"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    mood: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    device: Mapped[str | None] = mapped_column(String(255))  # revision 0002

    tags: Mapped[list[TagRow]] = relationship(secondary=entry_tags, order_by="TagRow.name")


class TagRow(Base):
    """A tag or activity ("outdoors", "work"), shared by entries."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
