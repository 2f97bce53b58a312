"""Site-wide pages: home, sign-up (open, by invite or closed), the account
page (usage, and invites for administrators), and the password-reset views
with their throttling. The rules live in accounts/."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import signup as accounts_signup
from accounts import throttle, usage
from accounts.forms import TAKEN_MESSAGE, BackgroundPasswordResetForm, InviteForm, SignUpForm
from accounts.models import Invite


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_not_required
def signup(request: HttpRequest, token: str = "") -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("transcripts:library")
    invite = accounts_signup.usable_invite(token) if token else None
    if token and invite is None:
        return render(request, "registration/signup_closed.html", {"invalid_invite": True}, status=404)
    policy = accounts_signup.policy()
    if policy == accounts_signup.Policy.CLOSED or (policy == accounts_signup.Policy.INVITE and invite is None):
        return render(request, "registration/signup_closed.html", {"message": accounts_signup.closed_message(policy)})
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts_signup.create_account(form, invite)
        except accounts_signup.SignupRefused as refused:
            form.add_error(None, str(refused))
        except IntegrityError:  # the same name or address signed up a moment ago
            form.add_error(None, TAKEN_MESSAGE)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if user.is_superuser:
                messages.success(request, "Welcome! As the first account here, you are its administrator.")
            return redirect("transcripts:upload_page")
    return render(request, "registration/signup.html", {"form": form, "invite": invite})


def account(request: HttpRequest) -> HttpResponse:
    context = {"usage": usage.summary(request.user)}
    if request.user.is_staff:
        context["invite_form"] = InviteForm()
        context["invites"] = Invite.objects.select_related("used_by")[:50]
        context["signup_policy"] = accounts_signup.policy()
    return render(request, "registration/account.html", context)


def staff_only(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise Http404("No such page.")


@require_POST
def create_invite(request: HttpRequest) -> HttpResponse:
    staff_only(request)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A note is at most 200 characters.")
        return redirect("account")
    invite, token = accounts_signup.create_invite(request.user, note=form.cleaned_data["note"])
    link = request.build_absolute_uri(reverse("signup_invite", args=[token]))
    messages.success(request, f"Invite link (shown once, usable once, until {invite.expires_at:%Y-%m-%d}): {link}")
    return redirect("account")


@require_POST
def revoke_invite(request: HttpRequest, pk: int) -> HttpResponse:
    staff_only(request)
    invite = get_object_or_404(Invite, pk=pk)
    if invite.revoke():
        messages.success(request, "The invite link no longer works.")
    return redirect("account")


class PasswordResetView(auth_views.PasswordResetView):
    """The same answer whether or not an account uses the address; throttled
    per client and per address, since each request may send a mail."""

    form_class = BackgroundPasswordResetForm

    def post(self, request, *args, **kwargs):
        if throttle.reset_limited(request):
            throttle.pause_refusal()
            form = self.get_form()
            form.is_valid()
            form.add_error(None, "Too many password-reset requests. Try again in an hour.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        throttle.unlock_account(form.user.get_username())
        return super().form_valid(form)
