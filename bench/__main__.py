"""`python -m bench` (or `make bench`): every benchmark below, one after the
other, each in its own process so none inherits another's warm caches.

Each module prints its own numbers as ratios against a baseline measured in
the same run. Some need services: transcript_page, scribe_concurrency and site_load use
the Postgres named by DATABASE_URL (site_load Redis too) where they say so in their docstrings.
"""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "pipeline_overhead",
    "upload_memory",
    "resumable_upload",
    "transcript_page",
    "scribe_concurrency",
    "scribe_storm",
    "live_local",
    "live_proxy",
    "api_overhead",
    "scribe_realtime_decode",
    "login_flood",
    "site_load",
    "isolated_decode",
    "speakers",
    "local_batched",
    "live_browser",
]


def main(names: list[str]) -> int:
    failed = []
    for name in names or MODULES:
        print(f"\n=== bench.{name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode:
            failed.append(name)
    if failed:
        print("\nfailed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
