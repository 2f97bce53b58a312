"""Server time for the transcript page, the share page, exports and library search.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/verbatim_b \\
        python -m bench.transcript_page [--words 30000] [--library 10000] [--runs 15] [--queries 200]

A generated three-hour meeting (30,000 words, 4 speakers) is rendered
through Django's full request stack (test client, middleware included) as
the owner's transcript page, the share page and every export format. The
baseline, measured in the same run, is loading the result row and
serialising its JSON. Library search runs over `--library` generated
transcripts of one user (150 words each from a 6,000-word Zipf vocabulary)
with phrases taken from them (rare) and single common words (many hits);
its baseline is listing the user's newest 50 transcripts.

A throw-away database (`<name>_bench_page`) is created next to the one
DATABASE_URL names, migrated, and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS_MS = {"page": 300, "export": 500, "search_p95": 100}


def setup_django():
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    for name in ("ELEVENLABS_API_KEY", "S3_BUCKET"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench_page"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    return connection, old_name


def timed(function, runs: int) -> list[float]:
    function()  # warm caches (templates, imports, the first query)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report(name: str, samples: list[float], baseline: float, target: float | None) -> None:
    median = statistics.median(samples)
    verdict = "" if target is None else ("  OK" if median < target else "  OVER TARGET")
    print(
        f"{name:<30} median {median:8.1f} ms   p95 {percentile(samples, 0.95):8.1f} ms   "
        f"{median / baseline:6.2f}x baseline{'' if target is None else f'   target {target} ms'}{verdict}"
    )


def bench_page(args) -> None:
    import json

    from django.contrib.auth import get_user_model
    from django.test import Client

    from tests.transcripts.factories import done_transcript, long_data
    from transcripts import sharing
    from transcripts.exports import FORMATS
    from transcripts.models import TranscriptResult

    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    data = long_data(words=args.words, speakers=4)
    transcript = done_transcript(user, data, title="Three-hour meeting")
    _, token = sharing.create_link(transcript, allow_audio=True, allow_download=True)
    client = Client()
    client.force_login(user)
    anonymous = Client()
    words = sum(1 for word in data["words"] if word["type"] != "spacing")
    hours = data["words"][-1]["end"] / 3600
    print(f"\nTranscript: {words} words, {hours:.2f} h, 4 speakers, {len(data['words'])} tokens")

    def baseline():
        json.dumps(TranscriptResult.objects.get(transcript=transcript).data)

    base = statistics.median(timed(baseline, args.runs))
    print(f"{'baseline: load row + JSON':<28} median {base:8.1f} ms")

    def get(client_, url):
        def run():
            response = client_.get(url, secure=True)  # production settings redirect plain HTTP
            assert response.status_code == 200, (url, response.status_code)
            return response

        return run

    page = get(client, f"/transcripts/{transcript.pk}/")
    share = get(anonymous, f"/s/{token}/")
    print(f"  page size {len(page().content) / 1e6:.2f} MB")

    def cold(view):
        def run():
            # As on the first view of a new transcript: parse `data`, render, store the body.
            TranscriptResult.objects.filter(transcript=transcript).update(page_cache={})
            view()

        return run

    report("transcript page (first view)", timed(cold(page), args.runs), base, None)
    report("transcript page", timed(page, args.runs), base, TARGETS_MS["page"])
    report("share page (first view)", timed(cold(share), args.runs), base, None)
    report("share page", timed(share, args.runs), base, TARGETS_MS["page"])
    for fmt in FORMATS:
        report(
            f"export {fmt}",
            timed(get(client, f"/transcripts/{transcript.pk}/export/{fmt}/"), args.runs),
            base,
            TARGETS_MS["export"],
        )


def zipf_vocabulary(size: int, rng: random.Random) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size * 2)})[:size]
    rng.shuffle(words)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    return words, weights


def bench_search(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from transcripts import search
    from transcripts.document import canonical
    from transcripts.models import Status, Transcript, TranscriptResult

    rng = random.Random(7)
    owner = get_user_model().objects.create_user("searcher", password="bench-password-1")
    other = get_user_model().objects.create_user("someone-else", password="bench-password-1")
    vocabulary, weights = zipf_vocabulary(6000, rng)
    started = time.perf_counter()
    phrases: list[str] = []
    batch = 1000
    for offset in range(0, args.library, batch):
        rows = []
        texts = []
        for i in range(offset, min(offset + batch, args.library)):
            words = rng.choices(vocabulary, weights, k=150)
            texts.append(words)
            rows.append(
                Transcript(
                    owner=owner if i % 10 else other,
                    title=f"Call {i}",
                    engine="local",
                    status=Status.DONE,
                    language_code="eng",
                    duration=60.0,
                )
            )
        created = Transcript.objects.bulk_create(rows)
        results = []
        for transcript, words in zip(created, texts, strict=True):
            tokens = [{"text": w, "start": n * 0.4, "end": n * 0.4 + 0.3, "type": "word"} for n, w in enumerate(words)]
            data = canonical.build(canonical.with_spacing(tokens), language_code="eng")
            results.append(TranscriptResult(transcript=transcript, data=data, original=data, text=data["text"]))
            if transcript.owner_id == owner.pk and rng.random() < 0.05:
                at = rng.randrange(140)
                phrases.append(" ".join(words[at : at + 3]))
        TranscriptResult.objects.bulk_create(results)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE transcripts_transcriptresult; ANALYZE transcripts_transcript")
    print(
        f"\nLibrary: {args.library} transcripts ({Transcript.objects.filter(owner=owner).count()} of the searching "
        f"user), loaded in {time.perf_counter() - started:.1f} s; database: {connection.vendor}"
    )

    def baseline():
        list(Transcript.objects.owned_by(owner).order_by("-created")[:50])

    base = statistics.median(timed(baseline, 30))
    print(f"{'baseline: newest 50 rows':<28} median {base:8.1f} ms")
    common = vocabulary[:20]
    rare = rng.sample(phrases, min(len(phrases), args.queries // 2))
    queries = {"phrase (few hits)": rare, "common word (many hits)": rng.choices(common, k=args.queries // 2)}
    everything = []
    for kind, terms in queries.items():
        samples = []
        for q in terms:
            start = time.perf_counter()
            hits = search.search(owner, search.Filters(q=q))
            samples.append((time.perf_counter() - start) * 1000)
            assert hits, q
        everything += samples
        report(f"search: {kind}", samples, base, None)
        print(f"{'':<28} p50 {percentile(samples, 0.5):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms")
    p50, p95 = percentile(everything, 0.5), percentile(everything, 0.95)
    verdict = "OK" if p95 < TARGETS_MS["search_p95"] else "OVER TARGET"
    print(
        f"{'search: all queries':<28} p50 {p50:.1f} ms   p95 {p95:.1f} ms ({p95 / base:.1f}x baseline)   "
        f"target p95 {TARGETS_MS['search_p95']} ms  {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=30_000)
    parser.add_argument("--library", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    connection, old_name = setup_django()
    try:
        bench_page(args)
        if not args.skip_search:
            bench_search(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
