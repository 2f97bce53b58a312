"""The operator's console for accounts: users with their quota and usage,
and invites (create one and see its link once; revoke). Login lockouts are
django-axes' own pages (Access attempts: delete one to lift a lockout)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts import signup, usage
from accounts.models import Invite
from transcripts.admin import QuotaInline, run_action
from transcripts.tokens import new_token

User = get_user_model()

admin.site.site_header = admin.site.site_title = "Verbatim operator’s console"
admin.site.index_title = "Users, jobs, recordings and links"

admin.site.unregister(User)


class UserChangeForm(auth_forms.UserChangeForm):
    def clean_email(self) -> str:
        email = self.cleaned_data.get("email", "")
        if email and User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another account uses this address (addresses are unique, ignoring case).")
        return email


@admin.register(User)
class VerbatimUserAdmin(UserAdmin):
    form = UserChangeForm
    inlines = (QuotaInline,)
    list_display = ("username", "email", "is_staff", "is_active", "last_login", "date_joined")
    readonly_fields = ("usage",)
    fieldsets = (*UserAdmin.fieldsets, ("Usage", {"fields": ("usage",)}))

    @admin.display(description="usage and limits")
    def usage(self, user) -> SafeString:
        if user.pk is None:
            return SafeString("—")
        return SafeString(render_to_string("admin/accounts/usage.html", {"usage": usage.summary(user)}))


class InviteAddForm(forms.ModelForm):
    days = forms.FloatField(min_value=0.01, initial=7, help_text="How long the link stays usable.")

    class Meta:
        model = Invite
        fields = ("note",)


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_by", "created", "expires_at", "state", "used_by")
    list_filter = ("revoked_at", "used_at")
    search_fields = ("note", "created_by__username", "used_by__username")
    list_select_related = ("created_by", "used_by")
    actions = ("revoke_invites",)
    exclude = ("token_hash",)
    readonly_fields = ("created_by", "expires_at", "revoked_at", "used_at", "used_by")

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = InviteAddForm
            kwargs["fields"] = ("note", "days")
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request: HttpRequest, obj=None):
        return ("note", "days") if obj is None else ("note", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Invite, form, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        token, obj.token_hash = new_token()
        obj.created_by = request.user
        obj.expires_at = timezone.now() + timedelta(days=form.cleaned_data["days"])
        obj.save()
        link = request.build_absolute_uri(reverse("signup_invite", args=[token]))
        self.message_user(
            request, f"Invite link (shown once, usable once): {link}", messages.SUCCESS, extra_tags="invite-link"
        )
        return None

    @admin.action(description="Withdraw the selected invites")
    def revoke_invites(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_action(self, request, queryset, lambda invite: invite.revoke(), "Withdrawn")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra = {"subtitle": f"Sign-up on this server: {signup.policy().label}"}
        return super().changelist_view(request, {**(extra_context or {}), **extra})
