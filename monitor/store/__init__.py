"""The journal: SQLite in WAL mode, the only place that imports sqlite3.

Every fact the daemon acts on is written here first (fsynced), and the daemon's state is
rebuilt from it after a restart. See journal.py for the API and schema.py for migrations.
"""
