"""Which device wrote a session or an entry (one journal shared by several devices), and an
index on interval start times for day and week summaries.

Existing rows keep everything; their device is unknown (NULL).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("capture_sessions", sa.Column("device", sa.String(255), nullable=True))
    op.add_column("entries", sa.Column("device", sa.String(255), nullable=True))
    op.create_index("ix_mood_intervals_started_at", "mood_intervals", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_mood_intervals_started_at", table_name="mood_intervals")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("device")
    with op.batch_alter_table("capture_sessions") as batch:
        batch.drop_column("device")
