"""Upkeep of the database that models and migrations cannot express."""

import contextlib

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def streaming(using: str = DEFAULT_DB_ALIAS):
    """Where a long read streams (`QuerySet.iterator()`): on PostgreSQL one transaction,
    whose server-side cursor sends rows as they are fetched and ends with it, so it also
    works behind a transaction pooler (DATABASE_POOLER); elsewhere nothing (on SQLite a
    transaction would take the write lock for the whole read)."""
    if connections[using].vendor == "postgresql":
        return transaction.atomic(using=using)
    return contextlib.nullcontext()


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
