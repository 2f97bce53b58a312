"""`Idempotency-Key` on creation (draft-ietf-httpapi-idempotency-key-header):
a POST retried with the same key never makes a second transcript, also
when both copies arrive at once.

The first request with a key inserts its row; the database's unique
constraint (owner, key) lets exactly one of two racing requests in. The
other answers 409 while the first is still working, and once it has
finished, the transcript the first one made. A key sent again with a
different request is refused (422). A request that fails leaves no row, so
it may be retried with the same key. Keys are kept API_IDEMPOTENCY_HOURS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import IdempotencyKey
from api.problems import ApiProblem, bad_request, conflict
from transcripts.models import Transcript

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


@dataclass
class Outcome:
    transcript: Transcript
    replayed: bool


def fingerprint(request, files: dict) -> str:
    """What makes two requests the same: method, path, fields, and each
    file's name and size (hashing gigabytes of audio would cost more than
    it protects)."""
    fields = {name: request.POST.getlist(name) for name in sorted(request.POST)}
    uploads = {name: [upload.name, upload.size] for name, upload in sorted(files.items())}
    described = json.dumps([request.method, request.path, fields, uploads], sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()


def create_once(request, user, files: dict, create: Callable[[], Transcript]) -> Outcome:
    """Run `create` once per Idempotency-Key (or every time without one)."""
    key = request.headers.get(HEADER)
    if key is None:
        return Outcome(create(), replayed=False)
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise bad_request("idempotency_key", f"An {HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.")
    print_ = fingerprint(request, files)
    row = _claim(user, key, print_)
    if row is None:
        return _replay(user, key, print_)
    try:
        transcript = create()
    except BaseException:
        row.delete()
        raise
    IdempotencyKey.objects.filter(pk=row.pk).update(transcript=transcript, completed=True)
    return Outcome(transcript, replayed=False)


def _claim(user, key: str, print_: str) -> IdempotencyKey | None:
    expired = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    IdempotencyKey.objects.filter(owner=user, key=key, created__lt=expired).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(owner=user, key=key, fingerprint=print_)
    except IntegrityError:
        return None


def _replay(user, key: str, print_: str) -> Outcome:
    row = IdempotencyKey.objects.filter(owner=user, key=key).select_related("transcript").first()
    if row is None:  # the first request failed and let its key go just now
        raise conflict("idempotency_retry", "The first request with this Idempotency-Key failed; send it again.")
    if row.fingerprint != print_:
        raise ApiProblem(422, "idempotency_key_reused", f"This {HEADER} was already used with a different request.")
    if not row.completed:
        raise conflict(
            "idempotency_in_progress",
            f"A request with this {HEADER} is still being processed; try again in a moment.",
            headers={"Retry-After": "1"},
        )
    if row.transcript is None:
        raise ApiProblem(410, "gone", "The transcript this request made was deleted.")
    return Outcome(row.transcript, replayed=True)
