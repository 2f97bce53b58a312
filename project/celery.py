"""The Celery app. Queues: `cpu` (CPU-bound engines such as the local one,
sized to the cores), `io` (engines waiting on the network, such as Scribe,
many at once in threads) and `default` (housekeeping such as the sweeper);
see transcripts/engines/registry.py."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("verbatim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["transcripts.jobs", "realtime", "api"])


@worker_process_init.connect
def forget_inherited_database_pools(**_) -> None:
    """A forked pool child must not use its parent's connection pool (its
    threads did not survive the fork, and its sockets are the parent's): drop
    it without closing, and the child opens its own on first use."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    DatabaseWrapper._connection_pools.clear()
