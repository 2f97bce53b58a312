"""The Celery app. Queues: `local` (CPU-bound local engine, sized to the
cores), `scribe` (I/O-bound cloud requests, many at once) and `default`
(small housekeeping tasks such as the sweeper)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("verbatim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
