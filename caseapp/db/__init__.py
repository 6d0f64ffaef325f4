"""The case database: SQLAlchemy models, engine set-up and Alembic migrations."""
