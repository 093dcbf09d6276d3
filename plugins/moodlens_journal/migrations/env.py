"""Alembic environment: runs on the connection moodlens_journal hands over, in its transaction.

The journal upgrades itself when opened (``Journal(url)``); there is no
alembic.ini. To run Alembic by hand, see docs/journal.md.
"""

from __future__ import annotations

from alembic import context

from moodlens_journal._models import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "the journal's migrations run on a connection given by moodlens_journal "
        "(open the journal with moodlens_journal.Journal(url) to upgrade it)"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    transactional_ddl=True,  # SQLite and PostgreSQL both roll DDL back
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
