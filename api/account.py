"""The account page's "Developer API" section: API tokens and webhooks
(plain form posts; the section itself is `{% api_account_section %}`). A
new token's or webhook's secret is shown once, on the page the form
returns to, and kept only in the server-side session until then."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from api.models import ApiToken, WebhookEndpoint
from api.webhooks import events, targets

SHOW_ONCE = "api_show_once"


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name")
    read_only = forms.BooleanField(required=False, label="Read-only")


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=500, label="URL", assume_scheme="https")
    description = forms.CharField(max_length=100, required=False)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            targets.check(url)
        except targets.TargetRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return url


def back(request: HttpRequest) -> HttpResponse:
    return redirect("account")


def show_once(request: HttpRequest, label: str, secret: str) -> None:
    request.session[SHOW_ONCE] = {"label": label, "secret": secret}


def form_errors(request: HttpRequest, form: forms.Form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return back(request)
    _, secret = ApiToken.issue(request.user, name=form.cleaned_data["name"], read_only=form.cleaned_data["read_only"])
    show_once(request, f"Your new API token “{form.cleaned_data['name']}”", secret)
    return back(request)


@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, owner=request.user)
    if token.revoke():
        messages.success(request, f"The token “{token.name}” no longer works.")
    return back(request)


@require_POST
def create_webhook(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return back(request)
    endpoint = WebhookEndpoint.objects.create(owner=request.user, **form.cleaned_data)
    show_once(request, f"The signing secret of {endpoint.url}", endpoint.secret)
    return back(request)


@require_POST
def delete_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(WebhookEndpoint, pk=pk, owner=request.user).delete()
    messages.success(request, "The webhook was removed.")
    return back(request)


@require_POST
def ping_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    events.ping(get_object_or_404(WebhookEndpoint, pk=pk, owner=request.user))
    messages.success(request, "A test event is on its way; its delivery shows below.")
    return back(request)
