"""What the provider keeps: its copy of a transcript is deleted once ours is
stored (SCRIBE_DELETE_AFTER_STORE) and when the user deletes the transcript.
Engines that keep copies say so with `provider_copy(transcript)` (the id, or
None) and `forget(copy_id)`; the deletion runs in a worker (the io queue)
after the transaction commits, so a slow provider never holds up a page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from transcripts.engines.base import PermanentEngineError
from transcripts.engines.registry import get_engine
from transcripts.models import Transcript

log = logging.getLogger(__name__)


def forget_provider_copy(transcript: Transcript) -> None:
    """Queue the deletion of the provider's copy of `transcript`, if it has one."""
    try:
        engine = get_engine(transcript.engine)
    except PermanentEngineError:
        return
    copy_of = getattr(engine, "provider_copy", None)
    copy_id = copy_of(transcript) if copy_of is not None else None
    if copy_id:
        name = transcript.engine
        transaction.on_commit(lambda: _send(name, copy_id))


def forget_after_storing(transcript_id: int) -> None:
    if not settings.SCRIBE_DELETE_AFTER_STORE:
        return
    transcript = Transcript.objects.select_related("result").filter(pk=transcript_id).first()
    if transcript is not None:
        forget_provider_copy(transcript)


def _send(engine: str, copy_id: str) -> None:
    from transcripts.engines.registry import queue_for
    from transcripts.jobs.tasks import forget_provider_copy as task

    try:
        task.apply_async(args=[engine, copy_id], queue=queue_for(engine))
    except Exception:  # the broker is down: the copy stays, say so
        log.warning("Could not queue the deletion of %s's copy %s", engine, copy_id, exc_info=True)
