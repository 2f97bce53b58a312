"""Creating a transcript from an uploaded file, for every API endpoint that
takes one (REST, Scribe- and OpenAI-compatible). The options are checked by
the upload page's own form and the job is made by its `save`, so an option
the form learns is honoured (or refused) here too. A field the request
leaves out takes the page's default, not "off"."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.db import transaction
from django.http import QueryDict
from rest_framework import status

from api import idempotency
from api.problems import ApiProblem, bad_request, quota_problem
from transcripts.forms import UploadOptionsForm, defaults_for
from transcripts.media.limits import UploadRejected, UploadTooLarge, too_large_message
from transcripts.models import Transcript
from transcripts.quotas import QuotaExceeded


def options_form(data) -> UploadOptionsForm:
    """The upload form bound to `data` (a QueryDict or a dict of lists).
    A text field sent several times (key terms) is one value per line."""
    form = UploadOptionsForm()
    values = QueryDict(mutable=True)
    sent_engine = data.getlist("engine") if hasattr(data, "getlist") else data.get("engine")
    defaults = defaults_for(str(sent_engine[0]) if sent_engine else None)
    for name, field in form.fields.items():
        sent = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if sent:
            if isinstance(field, forms.CharField) and not isinstance(field, forms.ChoiceField):
                values[name] = "\n".join(str(item) for item in sent)
            else:
                values.setlist(name, [str(item) for item in sent])
            continue
        initial = form.get_initial_for_field(field, name)
        if name in defaults:  # what the page shows for the chosen engine
            values[name] = defaults[name]
        elif isinstance(field, forms.BooleanField):
            values[name] = "true" if initial else "false"
        elif initial not in (None, ""):
            values[name] = str(initial)
    return UploadOptionsForm(values)


def form_problem(form: UploadOptionsForm) -> ApiProblem:
    """The page's message ("Choose a file…", "“x” is too long…"), with the errors by field."""
    errors = {name: [str(error) for error in messages] for name, messages in form.errors.items()}
    message = " ".join(error for messages in errors.values() for error in messages)
    return bad_request("validation", message, errors=errors)


def uploaded_file(request, field: str = "file"):
    """The file part of a multipart request, or the page's message."""
    django_request = getattr(request, "_request", request)
    files = request.FILES  # parses the body; may stop at the size limit
    if getattr(django_request, "upload_too_large", False):
        raise ApiProblem(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "too_large", too_large_message())
    uploaded = files.get(field)
    if uploaded is None:
        raise bad_request("validation", "Choose a file to upload.", errors={field: ["Choose a file to upload."]})
    return uploaded


def create(
    request, user, data, *, overrides: dict | None = None, then: Callable[[Transcript], None] | None = None
) -> idempotency.Outcome:
    """Validate the options, then probe, store and queue the file, once per
    Idempotency-Key. `then(transcript)` runs in the same transaction, before
    the job is queued (so a worker never sees the job without it). Raises
    ApiProblem with the page's messages."""
    uploaded = uploaded_file(request)
    form = options_form(data)
    if not form.is_valid():
        raise form_problem(form)

    def make() -> Transcript:
        try:
            with transaction.atomic():
                transcript = form.save(user, uploaded, **(overrides or {}))
                if then is not None:
                    then(transcript)
                return transcript
        except UploadTooLarge as error:
            raise ApiProblem(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "too_large", str(error)) from None
        except UploadRejected as error:
            raise bad_request("unsupported_media", str(error)) from None
        except QuotaExceeded as error:
            raise quota_problem(error) from None

    return idempotency.create_once(request, user, {"file": uploaded}, make)
