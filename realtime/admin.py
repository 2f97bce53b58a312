"""The operator's console for live captions: sessions (who, which engine,
live or ended, last heartbeat) and viewer links (revoke)."""

from __future__ import annotations

from django.contrib import admin

from realtime.models import LiveLink, LiveSession
from transcripts.admin import ReadOnlyAdmin, TokenLinkAdmin
from transcripts.formatting import human_duration


@admin.register(LiveSession)
class LiveSessionAdmin(ReadOnlyAdmin):
    list_display = ("title", "owner", "engine", "status", "started", "ended_at", "heartbeat", "attached", "length")
    list_filter = ("status", "engine", "attached")
    search_fields = ("title", "owner__username", "uuid")
    list_select_related = ("owner",)
    date_hierarchy = "started"

    @admin.display(description="length")
    def length(self, session: LiveSession) -> str:
        return human_duration(session.duration) if not session.is_active else "live"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a session ends (and is saved) through its consumer or recovery


@admin.register(LiveLink)
class LiveLinkAdmin(TokenLinkAdmin):
    list_display = ("__str__", "session", "owner", "usable", "created", "expires_at", "revoked_at")
    search_fields = ("session__title", "session__owner__username")
    list_select_related = ("session__owner",)

    @admin.display(description="owner")
    def owner(self, link: LiveLink):
        return link.session.owner
