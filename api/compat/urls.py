"""The Scribe- and OpenAI-compatible endpoints, at the paths their SDKs call."""

from django.urls import path

from api.compat import openai, scribe

urlpatterns = [
    path("v1/speech-to-text", scribe.speech_to_text, name="scribe_speech_to_text"),
    path("v1/speech-to-text/transcripts/<str:transcription_id>", scribe.transcript, name="scribe_transcript"),
    path("v1/audio/transcriptions", openai.transcriptions, name="openai_transcriptions"),
    path("v1/single-use-token/<str:token_type>", scribe.single_use_token, name="scribe_single_use_token"),
]
