"""`python manage.py fetch_model NAME`: download a faster-whisper model once
into DATA_DIR/models, for LOCAL_STT_MODEL=NAME (run it where the host is
online; the site then works offline)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from transcripts.engines import whisper_models


class Command(BaseCommand):
    help = "Download a faster-whisper model (tiny, base, small, large-v3-turbo, ...) into DATA_DIR/models."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="A faster-whisper model name, e.g. small or large-v3-turbo.")
        parser.add_argument("--force", action="store_true", help="Download again even if it is there.")

    def handle(self, *args, name: str, force: bool, **options) -> None:
        try:
            path = whisper_models.fetch(name, force=force)
        except whisper_models.FetchError as error:
            raise CommandError(str(error)) from None
        languages = whisper_models.languages(path)
        kind = "English only" if languages == ("en",) else f"{len(languages)} languages"
        self.stdout.write(f"{name} is in {path} ({kind}). Use it with LOCAL_STT_MODEL={name}.")
