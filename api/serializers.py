"""How the API shows things. Reads only; every change goes through a
service (transcripts.services, results, sharing, realtime.services)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.models import WebhookDelivery, WebhookEndpoint
from realtime import services as live_services
from realtime.models import LiveLink, LiveSession
from transcripts.models import Media, ShareLink, Status, Transcript


class MediaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Media
        fields = ("original_name", "size", "mime_type", "format_name", "has_video", "duration", "channels")


class TranscriptSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    notice = serializers.CharField(
        source="waiting_notice",
        read_only=True,
        help_text="Why a queued job waits, e.g. 'Waiting: Scribe is busy, next try at 14:05' ('' otherwise).",
    )
    next_attempt_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When a waiting job is tried again."
    )
    language = serializers.CharField(
        source="language_code", help_text="Detected or chosen language as a BCP 47 tag ('en', 'pt-BR'; '' until known)."
    )
    engine_label = serializers.CharField()
    duration = serializers.FloatField(allow_null=True, help_text="Seconds.")
    live = serializers.SerializerMethodField(help_text="Made by a live session.")
    media = MediaSerializer(allow_null=True)
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Transcript
        fields = (
            "id",
            "title",
            "status",
            "status_label",
            "notice",
            "next_attempt_at",
            "progress",
            "error",
            "engine",
            "engine_label",
            "options",
            "language",
            "duration",
            "live",
            "created",
            "updated",
            "started_at",
            "finished_at",
            "media",
            "urls",
        )

    def get_live(self, transcript: Transcript) -> bool:
        return bool((transcript.options or {}).get("live"))

    @extend_schema_field(
        {
            "type": "object",
            "properties": {name: {"type": "string"} for name in ("self", "result", "media", "page")},
            "required": ["self", "result", "media", "page"],
        }
    )
    def get_urls(self, transcript: Transcript) -> dict:
        return {
            "self": reverse("api:transcript", args=[transcript.pk]),
            "result": reverse("api:result", args=[transcript.pk]),
            "media": reverse("api:media", args=[transcript.pk]),
            "page": transcript.get_absolute_url(),
        }


class RenameSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255, help_text="The new title (1 to 255 characters).")


class EditSerializer(serializers.Serializer):
    """One edit. `rename_speaker`: speaker_id and name. `reassign_turn`:
    first, last and speaker_id (null: a new speaker). `correct_words`:
    first, last and text. Words are addressed by their index in `words`."""

    operation = serializers.ChoiceField(choices=["rename_speaker", "reassign_turn", "correct_words"])
    speaker_id = serializers.CharField(required=False, allow_null=True, max_length=100)
    name = serializers.CharField(required=False, max_length=200)
    first = serializers.IntegerField(required=False, min_value=0)
    last = serializers.IntegerField(required=False, min_value=0)
    text = serializers.CharField(required=False, allow_blank=True, max_length=5000)

    REQUIRED = {
        "rename_speaker": ("speaker_id", "name"),
        "reassign_turn": ("first", "last"),
        "correct_words": ("first", "text"),
    }

    def validate(self, attrs: dict) -> dict:
        missing = [name for name in self.REQUIRED[attrs["operation"]] if attrs.get(name) is None]
        if missing:
            raise serializers.ValidationError({name: ["This field is required."] for name in missing})
        return attrs


class SpeakerSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class EditedSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The new version (also the ETag header).")
    speakers = SpeakerSerializer(many=True)
    html = serializers.CharField(required=False, help_text="The rendered transcript (with ?include=html).")


class TokenLinkSerializer(serializers.ModelSerializer):
    """A link that opens something by its token: the URL only in the answer
    that made it (the token is in `context["tokens"]` then, never again)."""

    active = serializers.BooleanField(source="is_live")
    url = serializers.SerializerMethodField(help_text="Only in the answer that created the link.")
    url_name = ""  # the URL the token opens

    def get_url(self, link) -> str | None:
        token = self.context.get("tokens", {}).get(link.pk)
        request = self.context.get("request")
        if not token or request is None:
            return None
        return request.build_absolute_uri(reverse(self.url_name, args=[token]))


class ShareLinkSerializer(TokenLinkSerializer):
    url_name = "share"

    class Meta:
        model = ShareLink
        fields = ("id", "label", "allow_audio", "allow_download", "created", "expires_at", "revoked_at")
        fields = (*fields, "active", "url")


class ShareCreateSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    expires_in_days = serializers.IntegerField(required=False, allow_null=True, default=None)
    allow_audio = serializers.BooleanField(required=False, default=True)
    allow_download = serializers.BooleanField(required=False, default=False)


class SearchHitSerializer(serializers.Serializer):
    transcript = TranscriptSerializer()
    seconds = serializers.FloatField(allow_null=True, help_text="Where the passage starts in the recording.")
    before = serializers.CharField()
    match = serializers.CharField()
    after = serializers.CharField()


class EngineSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    default = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=["cpu", "io"])
    live = serializers.BooleanField(help_text="Usable for live sessions.")
    capabilities = serializers.JSONField(allow_null=True, help_text="What the engine can honour, when it says.")


class LiveTokenRequestSerializer(serializers.Serializer):
    engine = serializers.CharField(required=False, allow_blank=True, default="")
    language = serializers.CharField(required=False, allow_blank=True, default="", max_length=16)


class LiveTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Single use; valid until expires_at.")
    expires_at = serializers.DateTimeField()
    socket_url = serializers.CharField(help_text="Connect a WebSocket here (the token is in it).")


class LiveSessionSerializer(serializers.ModelSerializer):
    status = serializers.CharField()
    duration = serializers.FloatField(help_text="Seconds recorded so far (final once ended).")
    text = serializers.SerializerMethodField(
        help_text="The captions committed so far; once ended, the transcript's text as edited."
    )
    transcript = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = LiveSession
        fields = ("uuid", "title", "engine", "language", "status", "started", "ended_at", "duration", "error")
        fields = (*fields, "text", "transcript")

    def get_text(self, session: LiveSession) -> str:
        return " ".join(text for text in live_services.viewer_text(session) if text)


class LiveLinkCreateSerializer(serializers.Serializer):
    expires = serializers.ChoiceField(
        choices=["", "1h", "1d", "7d"],
        required=False,
        default="",
        help_text="How long the link works; empty: the server's LIVE_LINK_HOURS (24 h by default). Every link expires.",
    )


class LiveLinkSerializer(TokenLinkSerializer):
    url_name = "realtime:viewer"

    class Meta:
        model = LiveLink
        fields = ("id", "created", "expires_at", "revoked_at", "active", "url")


class WebhookSerializer(serializers.ModelSerializer):
    secret = serializers.SerializerMethodField(help_text="The signing secret, only in the answer that created it.")

    class Meta:
        model = WebhookEndpoint
        fields = ("id", "url", "description", "events", "active", "created", "secret")
        read_only_fields = ("id", "created", "secret")

    @extend_schema_field(OpenApiTypes.STR)
    def get_secret(self, endpoint: WebhookEndpoint) -> str | None:
        return endpoint.secret if self.context.get("show_secret") else None


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event",
            "transcript",
            "state",
            "attempts",
            "next_attempt_at",
            "response_status",
            "last_error",
            "created",
            "delivered_at",
        )


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField()
    token = serializers.DictField(allow_null=True, help_text="The API token in use: name, read_only.")
