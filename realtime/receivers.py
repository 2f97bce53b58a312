"""What realtime does when transcripts' data changes (connected in
RealtimeConfig.ready): live viewers follow the transcript they watch."""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from realtime import links, messages
from realtime.models import LiveSession
from transcripts.models import TranscriptResult
from transcripts.signals import transcript_edited


@receiver(post_delete, sender=LiveSession, dispatch_uid="realtime.close_viewers_of_deleted_session")
def close_viewers_of_deleted_session(sender, instance: LiveSession, **kwargs) -> None:
    """Its transcript was deleted (or it never recorded anything): its
    viewers are closed, wherever they are connected."""
    links.tell_after_commit(links.session_group(instance.uuid), links.CLOSED)


@receiver(transcript_edited, dispatch_uid="realtime.send_edited_text_to_viewers")
def send_edited_text_to_viewers(sender, transcript_id: int, **kwargs) -> None:
    """A connected viewer of the session is sent the edited text (already
    committed: the signal is sent after the edit's transaction)."""
    session = LiveSession.objects.filter(transcript_id=transcript_id).only("uuid").first()
    if session is None or not session.links.usable().exists():
        return
    text = TranscriptResult.objects.filter(transcript_id=transcript_id).values_list("text", flat=True).first() or ""
    links.tell(links.session_group(session.uuid), {"type": "live.caption", "caption": messages.transcript(text)})
