from __future__ import annotations

import dataclasses
import re

from django import forms

from transcripts import services
from transcripts.engines.base import TranscriptionOptions
from transcripts.engines.registry import available_engines, default_engine

LANGUAGES = [
    ("", "Detect automatically"),
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("sv", "Swedish"),
    ("da", "Danish"),
    ("no", "Norwegian"),
    ("fi", "Finnish"),
    ("cs", "Czech"),
    ("ru", "Russian"),
    ("uk", "Ukrainian"),
    ("tr", "Turkish"),
    ("el", "Greek"),
    ("ar", "Arabic"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("zh", "Chinese"),
]
# Scribe's documented limits for a key term.
KEYTERM_MAX_CHARS = 49
KEYTERM_MAX_WORDS = 5
KEYTERM_FORBIDDEN = re.compile(r"[<>{}\[\]\\]")


class UploadOptionsForm(forms.Form):
    engine = forms.ChoiceField(choices=())
    language = forms.ChoiceField(choices=LANGUAGES, required=False)
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engine"].choices = available_engines()
        self.fields["engine"].initial = default_engine()

    def clean_keyterms(self) -> list[str]:
        terms = [t.strip() for t in re.split(r"[\n,]", self.cleaned_data["keyterms"]) if t.strip()]
        for term in terms:
            if len(term) > KEYTERM_MAX_CHARS or len(term.split()) > KEYTERM_MAX_WORDS:
                raise forms.ValidationError(f"“{term}” is too long: key terms are at most 5 words and 49 characters.")
            if KEYTERM_FORBIDDEN.search(term):
                raise forms.ValidationError(f"“{term}” contains a character key terms cannot use (<>{{}}[]\\).")
        if len(terms) > 1000:
            raise forms.ValidationError("At most 1000 key terms.")
        return terms

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
        )


class RenameForm(forms.Form):
    title = forms.CharField(max_length=255)
