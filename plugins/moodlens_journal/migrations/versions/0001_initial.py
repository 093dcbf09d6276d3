"""The first journal schema: capture sessions, mood intervals, mood changes, entries, tags.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "capture_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("stopped_at", _utc(), nullable=True),
        sa.Column("stop_reason", sa.String(32), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_capture_sessions"),
    )
    op.create_table(
        "mood_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("face_id", sa.Integer(), nullable=True),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("ended_at", _utc(), nullable=False),
        sa.Column("offset", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("dominant", sa.String(16), nullable=False),
        *[sa.Column(f"score_{e}", sa.Float(), nullable=False) for e in _EMOTIONS],
        sa.CheckConstraint("frames > 0", name="ck_mood_intervals_frames_positive"),
        sa.CheckConstraint("seconds >= 0", name="ck_mood_intervals_seconds_not_negative"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["capture_sessions.id"],
            name="fk_mood_intervals_session_id_capture_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_mood_intervals"),
    )
    op.create_index("ix_mood_intervals_session_id", "mood_intervals", ["session_id"])
    op.create_table(
        "mood_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("face_id", sa.Integer(), nullable=True),
        sa.Column("previous", sa.String(16), nullable=True),
        sa.Column("current", sa.String(16), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("occurred_at", _utc(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["capture_sessions.id"],
            name="fk_mood_changes_session_id_capture_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_mood_changes"),
    )
    op.create_index("ix_mood_changes_session_id", "mood_changes", ["session_id"])
    op.create_index("ix_mood_changes_occurred_at", "mood_changes", ["occurred_at"])
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("mood", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("mood BETWEEN 1 AND 5", name="ck_entries_mood_1_to_5"),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
    )
    op.create_index("ix_entries_created_at", "entries", ["created_at"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("name", name="uq_tags_name"),
    )
    op.create_table(
        "entry_tags",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_entry_tags_entry_id_entries", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name="fk_entry_tags_tag_id_tags", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("entry_id", "tag_id", name="pk_entry_tags"),
    )


def downgrade() -> None:
    for table in ("entry_tags", "tags", "entries", "mood_changes", "mood_intervals"):
        op.drop_table(table)
    op.drop_table("capture_sessions")
