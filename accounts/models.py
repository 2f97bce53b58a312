"""Invites: single-use, expiring links to create an account."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from transcripts.models import TokenLink, TokenLinkQuerySet


class InviteQuerySet(TokenLinkQuerySet):
    def usable(self) -> InviteQuerySet:
        return super().usable().filter(used_at__isnull=True)


class Invite(TokenLink):
    """A link that lets one person create an account while sign-up is by
    invitation. Like share links, only the token's hash is stored."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="invites_sent"
    )
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for (only administrators see it).")
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="invite"
    )

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.note or f"Invite {self.pk}"

    @property
    def is_live(self) -> bool:
        return self.used_at is None and super().is_live

    @property
    def state(self) -> str:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        return "open" if self.is_live else "expired"

    def claim(self, user) -> bool:
        """Use the invite up for `user`: one UPDATE that only matches a usable
        invite, so two sign-ups racing for one invite cannot both have it."""
        return Invite.objects.usable().filter(pk=self.pk).update(used_at=timezone.now(), used_by=user) == 1
