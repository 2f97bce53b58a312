"""A transcription job as a Scribe request, and Scribe's answer (a response
or a webhook delivery) as the canonical transcript."""

from __future__ import annotations

import logging
import random

from django.conf import settings
from django.utils import timezone

from transcripts import languages
from transcripts.document import canonical
from transcripts.engines.base import (
    Capabilities,
    EngineJob,
    EngineResult,
    PermanentEngineError,
    RetryLater,
    Submitted,
    TranscriptionOptions,
)
from transcripts.engines.scribe.client import (
    READ_TIMEOUT_BASE,
    READ_TIMEOUT_MAX,
    AmbiguousSubmission,
    MediaSource,
    ScribeBusy,
    ScribeClient,
    ScribeTransientError,
    zero_retention,
)
from transcripts.engines.scribe.slots import NoFreeSlot
from transcripts.engines.scribe.webhook import site_tag
from transcripts.media import storage
from transcripts.pooling import release_database_connection

log = logging.getLogger(__name__)

# provider_request_id of a webhook job whose acknowledgement was lost: only
# the webhook (matched by metadata) can finish it.
UNCONFIRMED = "unconfirmed"


# --- responses -------------------------------------------------------------------


def to_canonical(body: dict) -> dict:
    """The canonical transcript from a single-channel or multichannel response."""
    if "transcripts" in body:
        chunks = []
        for position, chunk in enumerate(body["transcripts"]):
            channel = chunk.get("channel_index")
            channel = position if channel is None else channel
            words = [{**word, "channel_index": word.get("channel_index", channel)} for word in chunk.get("words") or []]
            chunks.append({**chunk, "words": words})
        merged = canonical.merge_channels(chunks)
        merged["language_probability"] = max((c.get("language_probability") or 0 for c in chunks), default=0)
        return merged
    words = [dict(word) for word in body.get("words") or []]
    transcript = canonical.build(
        words,
        language_code=body.get("language_code") or "",
        language_probability=body.get("language_probability") or 0.0,
    )
    transcript["text"] = body.get("text", transcript["text"])
    if body.get("entities"):
        transcript["entities"] = body["entities"]
    return transcript


def result_from(body: dict) -> EngineResult:
    return EngineResult(transcript=to_canonical(body), raw=body)


# --- the engine --------------------------------------------------------------------


def uses_webhook(duration: float) -> bool:
    return bool(settings.SCRIBE_WEBHOOK_SECRETS) and duration >= settings.SCRIBE_WEBHOOK_MIN_SECONDS


def read_timeout_for(duration: float) -> float:
    return min(READ_TIMEOUT_BASE + max(duration, 0.0), READ_TIMEOUT_MAX)


def media_source(job: EngineJob) -> MediaSource:
    """A presigned link to the object when the media is in a bucket (Scribe
    fetches it; the worker sends no bytes), else the file itself."""
    name = job.media_name.rsplit("/", 1)[-1] or "audio"
    url = presigned_url(job.media_name)
    if url:
        return MediaSource(filename=name, url=url)
    return MediaSource(filename=name, open=job.open)


def presigned_url(name: str) -> str | None:
    """A link Scribe can fetch the media from, when the media lives in object
    storage and SCRIBE_SEND_MEDIA_URLS allows it. HTTPS only, unless
    SCRIBE_MEDIA_URLS_ALLOW_HTTP says the store is reachable in plain HTTP
    (a private network; loopback in tests)."""
    if not settings.SCRIBE_SEND_MEDIA_URLS:
        return None
    try:
        url = storage.presigned_url(name, expire=settings.SCRIBE_MEDIA_URL_EXPIRY_SECONDS)
    except Exception:  # a storage without signing: upload the bytes instead
        log.warning("Could not presign %s; uploading it to Scribe instead", name, exc_info=True)
        return None
    if url and (url.startswith("https://") or settings.SCRIBE_MEDIA_URLS_ALLOW_HTTP):
        return url
    return None


class ScribeEngine:
    name = "scribe"
    label = "ElevenLabs Scribe"
    kind = "io"

    @classmethod
    def capabilities(cls) -> Capabilities:
        return Capabilities(
            languages=languages.COMMON,
            diarization=True,
            max_speakers=32,
            audio_events=True,
            keyterms=True,
            multichannel=True,
            clean_verbatim=True,
            redaction=True,
            zero_retention=True,
        )

    def transcribe(self, job: EngineJob) -> EngineResult | Submitted:
        release_database_connection()
        client = ScribeClient.from_settings()
        webhook = uses_webhook(job.duration)
        metadata = {"transcript_id": job.transcript_id, "site": site_tag()}
        try:
            body = client.speech_to_text(
                media_source(job),
                job.options,
                webhook=webhook,
                webhook_metadata=metadata,
                read_timeout=read_timeout_for(job.duration),
            )
        except AmbiguousSubmission as error:
            if webhook:
                log.warning(
                    "Scribe job %s: answer lost after sending (%s); waiting for the webhook", job.transcript_id, error
                )
                return Submitted(request_id=UNCONFIRMED)
            raise PermanentEngineError(
                "The connection to Scribe broke after the recording was sent, so Scribe may have transcribed "
                "(and billed) it, but the answer was lost. It was not sent again automatically; use Retry to "
                "send it again."
            ) from error
        except ScribeBusy as error:
            raise RetryLater("Scribe is busy", busy=True, delay=error.retry_after, reason=str(error)) from error
        except NoFreeSlot as error:
            wait = settings.SCRIBE_SLOT_WAIT_SECONDS * random.uniform(0.5, 1.5)  # spread the wake-ups
            raise RetryLater("all Scribe slots are in use", busy=False, delay=wait) from error
        except ScribeTransientError as error:
            raise PermanentEngineError(str(error)) from error
        if webhook:
            return Submitted(request_id=body.get("transcription_id") or f"request:{body.get('request_id', '')}")
        return result_from(body)

    def provider_copy(self, transcript) -> str | None:
        """The id of the copy Scribe keeps of this transcript, if it keeps one
        (with zero retention it keeps none)."""
        if zero_retention(TranscriptionOptions.from_dict(transcript.options or {})):
            return None
        raw = getattr(getattr(transcript, "result", None), "raw", None) or {}
        copy = raw.get("transcription_id") or transcript.provider_request_id
        return copy if copy and copy != UNCONFIRMED and ":" not in copy else None

    def forget(self, copy_id: str) -> None:
        """DELETE /v1/speech-to-text/transcripts/{id}: the provider's copy
        (a copy already gone is fine)."""
        ScribeClient.from_settings().delete_transcript(copy_id)

    def reconcile(self, transcript) -> EngineResult | None:
        """For a job whose webhook has not come: fetch the transcript by its
        id; give up once it has waited longer than any job may run."""
        transcription_id = transcript.provider_request_id
        gave_up = (
            transcript.started_at is not None
            and (timezone.now() - transcript.started_at).total_seconds() > settings.TASK_TIME_LIMIT_SECONDS
        )
        if transcription_id and transcription_id != UNCONFIRMED and ":" not in transcription_id:
            try:
                body = ScribeClient.from_settings().get_transcript(transcription_id)
            except ScribeTransientError:
                return None
            if body is not None:
                return result_from(body)
        if gave_up:
            raise PermanentEngineError(
                "Scribe accepted this recording but never delivered a transcript. Use Retry to send it again."
            )
        return None
