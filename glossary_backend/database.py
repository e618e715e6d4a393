"""Upkeep of the database that models and migrations cannot express."""

from django.db import DEFAULT_DB_ALIAS, connections


def refresh_planner_statistics(using: str = DEFAULT_DB_ALIAS) -> None:
    """Give the query planner current table statistics (ANALYZE), after migrations and
    bulk loads.

    Without them SQLite guesses, and on 10,000 terms a chapter page took 6x longer
    (docs/performance.md). Each SQLite connection's `PRAGMA optimize=0x10002`
    (settings.py) re-analyses tables that grew a lot, but SQLite before 3.46 never
    analyses a table the first time (the post-migrate step does, glossary_backend/apps.py).
    PostgreSQL's autovacuum gets there on its own, but not before the first searches
    after a bulk load, which stale estimates can turn into nested loops over every row.
    """
    with connections[using].cursor() as cursor:
        cursor.execute("ANALYZE")
