"""A flood of wrong-password logins from one address, and what it does to a
signed-in person browsing at the same time.

Each failed login costs a password hash (PBKDF2, about a second of CPU
here) whether or not the account exists, so a flood keeps every core busy
and the site slows for everyone. With the lockout (django-axes), after
LOGIN_FAILURE_LIMIT failures further attempts from that address are refused
before any hashing, at the cost of a couple of reads. The same flood is run
against a site whose limit is never reached (the lockout as good as off)
and against one with the default limit; the library's latency for a
signed-in person is printed against the same site when quiet.

    python -m bench.login_flood
"""

from __future__ import annotations

import re
import statistics
import threading
import time

import httpx

from bench.embedded import EmbeddedSite

FLOOD_CLIENTS = 8
FLOOD_SECONDS = 12
SAMPLES_QUIET = 30


def library_latencies(client: httpx.Client, *, samples: int = 0, until: float = 0.0) -> list[float]:
    times = []
    while (samples and len(times) < samples) or (until and time.monotonic() < until):
        started = time.perf_counter()
        response = client.get("/transcripts/")
        response.raise_for_status()
        times.append(time.perf_counter() - started)
    return times


def flood(base_url: str, until: float, counts: dict[str, int]) -> None:
    """One attacker connection: wrong passwords as fast as the site answers."""
    with httpx.Client(base_url=base_url, timeout=120) as http:
        form = http.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        attempt = 0
        while time.monotonic() < until:
            attempt += 1
            response = http.post(
                "/accounts/login/",
                data={"csrfmiddlewaretoken": token, "username": f"guess{attempt % 50}", "password": "wrong"},
            )
            counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1


def measure(failure_limit: str) -> dict[str, float]:
    site = EmbeddedSite(LOGIN_FAILURE_LIMIT=failure_limit)
    try:
        site.start_daphne()
        time.sleep(3)
        person = site.signed_in_client()
        library_latencies(person, samples=5)  # warm up
        quiet = library_latencies(person, samples=SAMPLES_QUIET)
        counts: dict[str, int] = {}
        until = time.monotonic() + FLOOD_SECONDS
        attackers = [threading.Thread(target=flood, args=(site.base_url, until, counts)) for _ in range(FLOOD_CLIENTS)]
        for attacker in attackers:
            attacker.start()
        time.sleep(1)  # let the flood start
        flooded = library_latencies(person, until=until)
        for attacker in attackers:
            attacker.join()
        return {
            "quiet": statistics.median(quiet),
            "flooded": statistics.median(flooded),
            "flooded_p90": sorted(flooded)[int(0.9 * len(flooded))],
            "attempts": sum(counts.values()),
            "refused": counts.get("429", 0),
        }
    finally:
        site.stop()


def main() -> None:
    print(f"{FLOOD_CLIENTS} attacker connections for {FLOOD_SECONDS} s; a signed-in person loads the library meanwhile")
    for name, limit in (("lockout never reached", "1000000"), ("lockout after 10 failures (default)", "10")):
        result = measure(limit)
        print(
            f"{name:<38} library p50 quiet {1000 * result['quiet']:6.1f} ms, flooded {1000 * result['flooded']:7.1f} ms"
            f" (p90 {1000 * result['flooded_p90']:7.1f} ms): {result['flooded'] / result['quiet']:5.1f}x slower;"
            f" {result['attempts']} attempts, {result['refused']} refused by the lockout"
        )


if __name__ == "__main__":
    main()
