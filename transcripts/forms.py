from __future__ import annotations

import dataclasses
import re

from django import forms

from transcripts import languages, services
from transcripts.engines.base import TranscriptionOptions
from transcripts.engines.registry import available_engines, capabilities, default_engine, label

DETECT = ("", "Detect automatically")
# Entity redaction (Scribe's entity_redaction: categories it detects).
REDACTION_CHOICES = [
    ("", "Nothing"),
    ("pii", "Personal details (names, addresses, phone numbers…)"),
    ("phi", "Health information"),
    ("pci", "Payment card details"),
    ("all", "Every detected entity"),
]
# Scribe's documented limits for a key term.
KEYTERM_MAX_CHARS = 49
KEYTERM_MAX_WORDS = 5
KEYTERM_FORBIDDEN = re.compile(r"[<>{}\[\]\\]")


def parse_keyterms(text: str, *, limit: int = 1000) -> list[str]:
    """Key terms from one per line or comma-separated text, checked against
    Scribe's limits (batch and live alike); ValidationError says which."""
    terms = [t.strip() for t in re.split(r"[\n,]", text) if t.strip()]
    for term in terms:
        if len(term) > KEYTERM_MAX_CHARS or len(term.split()) > KEYTERM_MAX_WORDS:
            raise forms.ValidationError(f"“{term}” is too long: key terms are at most 5 words and 49 characters.")
        if KEYTERM_FORBIDDEN.search(term):
            raise forms.ValidationError(f"“{term}” contains a character key terms cannot use (<>{{}}[]\\).")
    if len(terms) > limit:
        raise forms.ValidationError(f"At most {limit} key terms.")
    return terms


def language_choices(engines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every language some engine here offers (clean() holds each engine to its own)."""
    offered = {code for name, _ in engines for code in capabilities(name).languages}
    return [DETECT, *languages.choices(offered)]


class LanguageField(forms.ChoiceField):
    """Offers the languages of the engines here; takes any known code, so that
    an engine that cannot do one says so (clean) instead of "not a choice"."""

    def valid_value(self, value) -> bool:
        return languages.known(str(value)) or super().valid_value(value)


class UploadOptionsForm(forms.Form):
    engine = forms.ChoiceField(choices=())
    language = LanguageField(choices=(DETECT,), required=False)
    diarize = forms.BooleanField(required=False, label="Identify speakers")
    num_speakers = forms.IntegerField(required=False, min_value=1, max_value=32, label="Number of speakers")
    tag_audio_events = forms.BooleanField(required=False, initial=True, label="Tag audio events (laughter, music…)")
    keyterms = forms.CharField(
        required=False,
        label="Key terms",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Names and jargon to listen for, one per line or comma-separated.",
    )
    multichannel = forms.BooleanField(required=False, label="Transcribe each channel separately")
    no_verbatim = forms.BooleanField(
        required=False, label="Clean verbatim", help_text="Leave out filler words, false starts and stutters."
    )
    redact = forms.ChoiceField(
        choices=REDACTION_CHOICES,
        required=False,
        label="Redact",
        help_text="Replace these details in the text with placeholders such as {EMAIL_ADDRESS_1} (Scribe).",
    )
    zero_retention = forms.BooleanField(
        required=False,
        label="Zero retention at ElevenLabs",
        help_text="ElevenLabs keeps nothing of this recording (enterprise plans).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        engines = available_engines()
        self.fields["engine"].choices = engines
        self.fields["engine"].initial = default_engine()
        self.fields["language"].choices = language_choices(engines)
        self.fields["tag_audio_events"].initial = capabilities(default_engine()).audio_events

    def clean(self):
        """Refuse what the chosen engine cannot honour, whatever was sent: an
        option silently ignored would give a wrong transcript with no word why."""
        data = super().clean()
        engine = data.get("engine")
        if not engine or self.errors:
            return data
        offers = capabilities(engine)
        if not data.get("language") and offers.default_language():
            data["language"] = offers.default_language()
        for field, message in offers.refusals(self.options(), label(engine)).items():
            self.add_error(field, message)
        return data

    @staticmethod
    def engine_capabilities() -> dict:
        """Each available engine's capabilities, for the pages' scripts."""
        return {name: capabilities(name).to_dict() for name, _ in available_engines()}

    def clean_keyterms(self) -> list[str]:
        return parse_keyterms(self.cleaned_data["keyterms"])

    def save(self, user, uploaded, **overrides):
        """The one way an uploaded file and these options become a job: the
        upload page and every API endpoint that takes a file call this.
        `overrides`: options the form does not offer, already checked by the
        caller (the Scribe-compatible endpoint's temperature, say)."""
        options = dataclasses.replace(self.options(), **overrides)
        return services.create_upload(user, uploaded, engine=self.cleaned_data["engine"], options=options)

    def options(self) -> TranscriptionOptions:
        data = self.cleaned_data
        return TranscriptionOptions(
            language=data["language"] or None,
            diarize=data["diarize"],
            num_speakers=data["num_speakers"] if data["diarize"] else None,
            tag_audio_events=data["tag_audio_events"],
            keyterms=tuple(data["keyterms"]),
            multichannel=data["multichannel"],
            no_verbatim=data.get("no_verbatim") or False,
            entity_redaction=(data["redact"],) if data.get("redact") else (),
            zero_retention=data.get("zero_retention") or False,
        )


def defaults_for(engine: str | None) -> dict[str, str]:
    """The page's defaults for a client that leaves options out (a plain tus
    client, an API call): what the page would show with this engine chosen."""
    engine = engine or default_engine()
    return {"engine": engine, "tag_audio_events": "true" if capabilities(engine).audio_events else "false"}


class RenameForm(forms.Form):
    title = forms.CharField(max_length=255)
