"""Upkeep of the database that models and migrations cannot express."""

from django.db import DEFAULT_DB_ALIAS, connections


def refresh_planner_statistics(using: str = DEFAULT_DB_ALIAS) -> None:
    """Give SQLite's query planner current table statistics (ANALYZE).

    Without them SQLite guesses, and on 10,000 terms a chapter page took 6x longer
    (docs/performance.md). Each connection's `PRAGMA optimize=0x10002` (settings.py)
    re-analyses tables that grew a lot, but SQLite before 3.46 never analyses a table
    the first time: that happens here, after migrations and bulk loads. PostgreSQL's
    autovacuum keeps its own statistics.
    """
    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
