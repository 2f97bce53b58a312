"""Named workflows the views, the API and live sessions call: take an
upload, act on a job (cancel, retry, delete, re-transcribe), and turn a live
session into a transcript. How a job then runs is in jobs/."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from transcripts import privacy, quotas
from transcripts.engines.base import EngineResult, TranscriptionOptions
from transcripts.engines.registry import capabilities, default_engine, engine_paths, is_configured
from transcripts.jobs.progress import publish_job
from transcripts.jobs.queue import enqueue
from transcripts.jobs.runner import finish
from transcripts.media import pcm, storage
from transcripts.media.limits import UploadRejected, check_channels, check_limits
from transcripts.media.probe import MediaInfo, ProbeError, probe, probe_url
from transcripts.models import Media, Status, Transcript
from transcripts.pooling import release_database_connection


class Refused(Exception):
    """An action that cannot be done; str(self) is the message for the user."""


# --- uploads ------------------------------------------------------------------


def create_upload(user, uploaded, *, engine: str, options: TranscriptionOptions) -> Transcript:
    """Probe an uploaded file, store it under a name of ours and queue its job.
    Raises UploadRejected for a file we cannot take, QuotaExceeded past the
    user's quota.

    On any refusal nothing is kept: no row, no stored file (the temporary
    upload is removed by Django when the request ends).
    """
    check_limits(uploaded.size)
    release_database_connection()  # the probe takes seconds
    try:
        info = probe(uploaded.temporary_file_path(), settings.PROBE_TIMEOUT_SECONDS)
    except ProbeError as error:
        raise UploadRejected(str(error)) from None
    check_limits(uploaded.size, info)
    check_channels(info, separately=options.multichannel)
    title = Path(uploaded.name or "Recording").stem[:200] or "Recording"
    return create_transcript(user, uploaded, info, title=title, engine=engine, options=options)


def create_stored_upload(
    user, name: str, *, size: int, original_name: str, engine: str, options: TranscriptionOptions
) -> Transcript:
    """A transcript for a file already in its final place in storage (a
    finished resumable upload, whoever received it): probed where it lies and
    refused as any upload is (UploadRejected, or QuotaExceeded past the
    user's quota). On a refusal the stored file is deleted, so nothing is
    left behind."""
    try:
        check_limits(size)
        info = probe_stored(name, size)
        check_limits(size, info)
        check_channels(info, separately=options.multichannel)
    except UploadRejected:
        default_storage.delete(name)
        raise
    title = Path(original_name or "Recording").stem[:200] or "Recording"
    media = media_for(user, info, original_name=original_name or title, size=size)
    media.file.name = name
    try:
        with transaction.atomic():
            quotas.lock(user)
            quotas.check_new_job(user, engine, info.duration, size=size)
            return record_upload(user, media, info, title=title, engine=engine, options=options)
    except BaseException:
        default_storage.delete(name)
        raise


def probe_stored(name: str, size: int) -> MediaInfo:
    """Probe a stored file: by its path on a local disk, or through a
    short-lived presigned URL to its object (read in ranges, never copied)."""
    timeout = settings.PROBE_TIMEOUT_SECONDS
    release_database_connection()  # the probe takes seconds
    try:
        path = storage.local_path(name)
        if path is not None:
            return probe(path, timeout)
        url = storage.presigned_url(name, expire=int(max(settings.MEDIA_URL_EXPIRY_SECONDS, timeout + 60)))
        return probe_url(url, size, timeout)
    except ProbeError as error:
        raise UploadRejected(str(error)) from None


def media_for(owner, info: MediaInfo, *, original_name: str, size: int) -> Media:
    """An unsaved Media row for a probed file."""
    return Media(
        owner=owner,
        original_name=original_name[:255],
        extension=info.extension,
        size=size,
        format_name=info.format_name,
        mime_type=info.mime_type,
        has_video=info.has_video,
        duration=info.duration,
        channels=info.channels,
        sample_rate=info.sample_rate,
    )


def create_transcript(
    user, content: File, info: MediaInfo, *, title: str, engine: str, options: TranscriptionOptions
) -> Transcript:
    media = media_for(user, info, original_name=content.name or title, size=content.size)
    try:
        with transaction.atomic():
            quotas.lock(user)
            quotas.check_new_job(user, engine, info.duration, size=content.size)
            media.file.save("upload", content, save=False)
            return record_upload(user, media, info, title=title, engine=engine, options=options)
    except BaseException:
        if media.file.name:
            default_storage.delete(media.file.name)
        raise


def record_upload(
    user, media: Media, info: MediaInfo, *, title: str, engine: str, options: TranscriptionOptions
) -> Transcript:
    """Save the media row and its queued job (sent once the transaction
    commits), and count its minutes. Call with the user's quota checked."""
    with transaction.atomic():
        media.save()
        transcript = Transcript.objects.create(
            owner=user,
            media=media,
            title=title,
            engine=engine,
            options=options.to_dict(),
            duration=info.duration,
        )
        quotas.record(user, engine, info.duration)
        transaction.on_commit(lambda: enqueue(transcript))
    return transcript


# --- acting on a job ---------------------------------------------------------------


def cancel(transcript: Transcript) -> bool:
    changed = transcript.cancel()
    if changed:
        publish_job(transcript.pk)
    return changed


def retry(transcript: Transcript) -> bool:
    """Run a failed or cancelled job again (its audio is sent again, so it
    counts against the quota again). False when it is neither."""
    with transaction.atomic():
        quotas.lock(transcript.owner)
        retryable = Transcript.objects.filter(pk=transcript.pk, status__in=(Status.FAILED, Status.CANCELLED))
        if not retryable.exists():
            return False
        quotas.check_new_job(transcript.owner, transcript.engine, transcript.duration or 0)
        changed = transcript.requeue(reset_attempts=True)
        if changed:
            quotas.record(transcript.owner, transcript.engine, transcript.duration)
            transaction.on_commit(lambda: enqueue(transcript))
            publish_job(transcript.pk)
    return changed


def requeue(transcript: Transcript) -> bool:
    """Send a queued or running job to a worker again, as the sweeper does
    when a worker died or a broker message was lost; its attempts are kept
    (a duplicate delivery is a no-op). A job waiting on Scribe is left to
    reconciliation: sending it again could pay for it twice."""
    if transcript.status == Status.QUEUED:
        changed = True
    elif transcript.status == Status.TRANSCRIBING:
        changed = transcript.requeue(reset_attempts=False)
    else:
        return False
    if changed:
        transaction.on_commit(lambda: enqueue(transcript))
        publish_job(transcript.pk)
    return changed


def delete(transcript: Transcript) -> None:
    """Delete a transcript, and its media once no other transcript uses it."""
    media = transcript.media
    transcript.cancel()
    privacy.forget_provider_copy(transcript)  # the provider's copy goes too (after commit)
    transcript.delete()
    if media and not media.transcripts.exists():
        name = media.file.name
        media.delete()
        transaction.on_commit(lambda: default_storage.delete(name))


def retranscribe(transcript: Transcript, *, engine: str | None = None) -> Transcript:
    """A new batch job on the same recording (a live session's, say); the
    transcript it came from is kept."""
    if transcript.media is None:
        raise Refused("The recording for this transcript was deleted.")
    if not engine or engine not in engine_paths() or not is_configured(engine):
        engine = default_engine()
    language = (transcript.options or {}).get("language")
    offers = capabilities(engine)
    if language not in offers.languages:  # a language this engine's model lacks
        language = offers.default_language()
    with transaction.atomic():
        quotas.lock(transcript.owner)
        quotas.check_new_job(transcript.owner, engine, transcript.duration or 0)
        batch = Transcript.objects.create(
            owner=transcript.owner,
            media=transcript.media,
            title=f"{transcript.title} (batch)",
            engine=engine,
            options=TranscriptionOptions(language=language).to_dict(),
            duration=transcript.duration,
        )
        quotas.record(transcript.owner, engine, transcript.duration)
        transaction.on_commit(lambda: enqueue(batch))
    return batch


# --- live sessions ------------------------------------------------------------------


def record_live_transcript(
    *,
    owner_id: int,
    title: str,
    engine: str,
    language: str,
    recording_name: str,
    recording_size: int,
    audio_bytes: int,
    words: dict,
    started_at,
) -> Transcript:
    """A finished live session as a transcript with its WAV recording. It is
    stored through `finish`, as a batch job is, so the library hears of it and
    a long one is pre-rendered. Call it inside the caller's transaction."""
    duration = audio_bytes / pcm.BYTES_PER_SECOND
    media = Media.objects.create(
        owner_id=owner_id,
        file=recording_name,
        original_name=f"{title}.wav",
        extension=".wav",
        size=recording_size,
        format_name="wav",
        mime_type="audio/wav",
        has_video=False,
        duration=duration,
        channels=1,
        sample_rate=pcm.SAMPLE_RATE,
    )
    transcript = Transcript.objects.create(
        owner_id=owner_id,
        media=media,
        title=title,
        engine=engine,
        options={**TranscriptionOptions(language=language or None).to_dict(), "live": True},
        status=Status.TRANSCRIBING,
        duration=duration,
        started_at=started_at,
    )
    quotas.record(owner_id, engine, duration)
    finish(transcript.pk, EngineResult(transcript=words))
    transcript.refresh_from_db()
    return transcript
