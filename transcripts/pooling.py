"""Pooled database connections are few (DATABASE_POOL_MAX_SIZE per process):
code that is about to wait (on a child process, a provider, a timer) hands
its connection back first, so the waiting never starves the requests that
only need the database for milliseconds."""

from django.db import connection


def release_database_connection() -> None:
    """Back to the pool until the next query. Inside a transaction the
    connection must stay (closing it would roll the transaction back)."""
    if not connection.in_atomic_block:
        connection.close()
