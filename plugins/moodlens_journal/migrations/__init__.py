"""Alembic migrations of the journal's schema, shipped in the package and run by Journal()."""
