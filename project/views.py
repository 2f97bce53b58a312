"""Site-wide pages: home, sign-up and the account page."""

from django import forms
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_not_required
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("transcripts:library")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("transcripts:upload_page")
    return render(request, "registration/signup.html", {"form": form})


def account(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/account.html")
