"""The embedded mode's SQLite under concurrent writers (web and worker
processes, threads): a transaction that reads before it writes must wait
for the write lock, not fail. bench/api_overhead.py found jobs failing with
"database is locked" as 20 clients' jobs finished together."""

from __future__ import annotations

import subprocess
import sys

from tests import support

RACE = """
import threading, time, django
django.setup()
from django.contrib.auth.models import Group
from django.db import connection, transaction

errors = []

def writer(number):
    try:
        with transaction.atomic():
            list(Group.objects.all())  # a read first, as finishing a job does
            time.sleep(0.3)
            Group.objects.create(name=f"group {number}")
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()

threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("errors:", errors)
print("groups:", Group.objects.count())
"""


def test_concurrent_transactions_wait_for_the_write_lock(tmp_path):
    env = support.embedded_env(tmp_path)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=support.ROOT, env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-c", RACE], cwd=support.ROOT, env=env, capture_output=True, text=True, timeout=120
    ).stdout
    assert "errors: []" in out and "groups: 3" in out, out
