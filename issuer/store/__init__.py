"""Storage: SQLAlchemy engine, sessions and tables. No rules and no JSON-LD live here."""
