"""The operator's console for transcripts: jobs (state, error, attempts,
lease; retry, cancel, requeue), media, share links (revoke) and the per-user
quota form shown on each user's page. Every action goes through the same
services as the pages, never a raw update that would skip a workflow."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from transcripts import services
from transcripts.engines.registry import engine_paths, label
from transcripts.formatting import human_duration, human_size
from transcripts.models import Media, Quota, ShareLink, Transcript
from transcripts.quotas import QuotaExceeded

GB = 1000**3


def run_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, rows, act: Callable[[object], bool], done: str
) -> None:
    """Apply `act` to each row; report how many it changed, which it skipped
    (not in a state it applies to) and which were refused, with the reason."""
    changed, skipped, refused = 0, 0, []
    for row in rows:
        try:
            if act(row):
                changed += 1
            else:
                skipped += 1
        except QuotaExceeded as error:
            refused.append(f"“{row}”: {error}")
    modeladmin.message_user(request, f"{done}: {changed}. Not applicable: {skipped}.", messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, reason, messages.ERROR)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows made by the site's workflows: look, act through actions, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Transcript)
class TranscriptAdmin(ReadOnlyAdmin):
    list_display = ("title", "owner", "engine", "status", "attempts", "lease_expires_at", "short_error", "created")
    list_filter = ("status", "engine", "created")
    search_fields = ("title", "owner__username", "owner__email", "provider_request_id")
    list_select_related = ("owner",)
    date_hierarchy = "created"
    actions = ("retry_jobs", "cancel_jobs", "requeue_jobs")
    exclude = ("options",)
    readonly_fields = ("options_shown",)

    @admin.display(description="error")
    def short_error(self, transcript: Transcript) -> str:
        return transcript.error[:80]

    @admin.display(description="options")
    def options_shown(self, transcript: Transcript) -> str:
        return ", ".join(f"{key}={value}" for key, value in (transcript.options or {}).items()) or "—"

    @admin.action(description="Retry the selected failed or cancelled jobs")
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_action(self, request, queryset.select_related("owner"), services.retry, "Queued again")

    @admin.action(description="Cancel the selected queued or running jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_action(self, request, queryset, services.cancel, "Cancelled")

    @admin.action(description="Requeue the selected queued or running jobs (their worker died or message was lost)")
    def requeue_jobs(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_action(self, request, queryset, services.requeue, "Sent to a worker again")

    def delete_model(self, request: HttpRequest, obj: Transcript) -> None:
        services.delete(obj)  # also its recording, once no other transcript uses it

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for transcript in queryset:
            services.delete(transcript)


@admin.register(Media)
class MediaAdmin(ReadOnlyAdmin):
    """Recordings are removed with their transcripts (Transcripts → delete)."""

    list_display = ("original_name", "owner", "size_shown", "duration_shown", "channels", "format_name", "created")
    list_filter = ("format_name", "has_video")
    search_fields = ("original_name", "owner__username")
    list_select_related = ("owner",)

    @admin.display(description="size", ordering="size")
    def size_shown(self, media: Media) -> str:
        return human_size(media.size)

    @admin.display(description="duration", ordering="duration")
    def duration_shown(self, media: Media) -> str:
        return human_duration(media.duration)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TokenLinkAdmin(ReadOnlyAdmin):
    """Links opened by a token; only its hash is stored, so none is shown."""

    exclude = ("token_hash",)
    actions = ("revoke_links",)
    list_filter = ("revoked_at", "expires_at")

    @admin.display(description="usable", boolean=True)
    def usable(self, link) -> bool:
        return link.is_live

    @admin.action(description="Revoke the selected links")
    def revoke_links(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_action(self, request, queryset, lambda link: link.revoke(), "Revoked")


@admin.register(ShareLink)
class ShareLinkAdmin(TokenLinkAdmin):
    list_display = ("__str__", "transcript", "owner", "usable", "created", "expires_at", "revoked_at")
    search_fields = ("label", "transcript__title", "transcript__owner__username")
    list_select_related = ("transcript__owner",)

    @admin.display(description="owner")
    def owner(self, link: ShareLink):
        return link.transcript.owner


# --- per-user quotas (shown on the user's page by accounts/admin.py) ----------------


class QuotaForm(forms.ModelForm):
    """Storage in GB and one minutes field per engine; a blank field keeps
    the site-wide default."""

    storage_gb = forms.FloatField(required=False, min_value=0, label="Storage (GB)")

    class Meta:
        model = Quota
        fields = ("active_jobs", "live_sessions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        quota = self.instance
        if quota.storage_bytes is not None:
            self.fields["storage_gb"].initial = quota.storage_bytes / GB
        for engine in engine_paths():
            self.fields[f"minutes_{engine}"] = forms.FloatField(
                required=False,
                min_value=0,
                label=f"{label(engine)}: minutes per month",
                initial=(quota.monthly_minutes or {}).get(engine),
            )

    def save(self, commit: bool = True) -> Quota:
        quota = super().save(commit=False)
        gigabytes = self.cleaned_data.get("storage_gb")
        quota.storage_bytes = None if gigabytes is None else int(gigabytes * GB)
        quota.monthly_minutes = {
            engine: self.cleaned_data[f"minutes_{engine}"]
            for engine in engine_paths()
            if self.cleaned_data.get(f"minutes_{engine}") is not None
        }
        if commit:
            quota.save()
        return quota


class QuotaInline(admin.StackedInline):
    model = Quota
    form = QuotaForm
    can_delete = False
    verbose_name = verbose_name_plural = "Quota (blank fields: the site-wide default)"

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return ["storage_gb", *(f"minutes_{engine}" for engine in engine_paths()), "active_jobs", "live_sessions"]

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        # The minutes fields are added per engine when the form is made; the
        # form class itself only knows these.
        kwargs["fields"] = ["storage_gb", "active_jobs", "live_sessions"]
        return super().get_formset(request, obj, **kwargs)
