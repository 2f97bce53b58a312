"""Multichannel reads as a conversation: each channel's words are grouped
into utterances (at pauses and sentence ends) ordered by start, and the
page, the JSON text, TXT, SRT, VTT, DOCX, PDF and search snippets all follow
them; no item ends before it starts; no cue is shorter than the minimum and
cues are in time order."""

from __future__ import annotations

import io
import re

import docx
import pypdf
import pytest
import srt
import webvtt

from tests.transcripts.factories import done_transcript
from transcripts import exports
from transcripts.document import html
from transcripts.engines.scribe.engine import to_canonical
from transcripts.exports.subtitles import CueOptions
from transcripts.search import Filters, search

# Two people on two channels, talking over each other.
CHANNEL_0 = [
    ("It was the best of times.", 0.0, 2.0),
    ("It was the worst of times.", 5.0, 7.0),
]
CHANNEL_1 = [
    ("Indeed it was.", 1.0, 2.6),  # starts while channel 0 is still talking
    ("Yes.", 7.2, 7.35),  # a short reply: its cue still lasts the minimum
]
CONVERSATION = [
    "It was the best of times.",
    "Indeed it was.",
    "It was the worst of times.",
    "Yes.",
]


def channel_chunk(channel: int, sentences: list[tuple[str, float, float]]) -> dict:
    words: list[dict] = []
    for text, start, end in sentences:
        parts = text.split()
        step = (end - start) / len(parts)
        for index, part in enumerate(parts):
            word_start = round(start + index * step, 3)
            if words:
                gap_end = word_start if words[-1]["end"] <= word_start else words[-1]["end"] - 0.05  # Scribe's quirk
                words.append(
                    {
                        "text": " ",
                        "start": words[-1]["end"],
                        "end": gap_end,
                        "type": "spacing",
                        "channel_index": channel,
                    }
                )
            words.append(
                {
                    "text": part,
                    "start": word_start,
                    "end": round(word_start + step * 0.9, 3),
                    "type": "word",
                    "speaker_id": f"speaker_{channel}",
                    "logprob": -0.1,
                    "channel_index": channel,
                }
            )
    return {"language_code": "eng", "language_probability": 0.9, "text": "", "words": words, "channel_index": channel}


@pytest.fixture
def conversation() -> dict:
    body = {"transcripts": [channel_chunk(0, CHANNEL_0), channel_chunk(1, CHANNEL_1)], "transcription_id": "abc"}
    return to_canonical(body)


def in_order(text: str, sentences: list[str]) -> bool:
    """Every sentence appears whole, in this order."""
    flat = " ".join(text.split())
    position = 0
    for sentence in sentences:
        found = flat.find(sentence, position)
        if found < 0:
            return False
        position = found + len(sentence)
    return True


def test_json_text_reads_as_the_conversation(conversation):
    assert conversation["text"] == " ".join(CONVERSATION)
    assert all(word["end"] >= word["start"] for word in conversation["words"])


def test_page_follows_the_utterances(conversation):
    body = re.sub(r"<[^>]+>", " ", html.render_turns(conversation))
    assert in_order(body, CONVERSATION), body
    assert body.count("Speaker 1") == 2 and body.count("Speaker 2") == 2


def test_txt_has_one_block_per_utterance(conversation):
    blocks = exports.to_txt(conversation).decode().strip().split("\n\n")
    assert [block.splitlines()[1] for block in blocks] == CONVERSATION
    assert blocks[1].startswith("Speaker 2 (channel 2) [0:01]")


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_follow_utterances_in_time_order_with_a_minimum_length(conversation, fmt):
    options = CueOptions(min_duration=1.0)
    if fmt == "srt":
        cues = [
            (c.start.total_seconds(), c.end.total_seconds(), c.content)
            for c in srt.parse(exports.to_srt(conversation, options).decode())
        ]
    else:
        captions = webvtt.from_buffer(io.StringIO(exports.to_vtt(conversation, options).decode()))
        cues = [(c.start_in_seconds, c.end_in_seconds, c.text) for c in captions]
    starts = [start for start, _, _ in cues]
    assert starts == sorted(starts)
    assert all(end - start >= 1.0 - 1e-6 for start, end, _ in cues), cues
    texts = [re.sub(r"^Speaker \d: ", "", " ".join(content.split())) for _, _, content in cues]
    assert texts == CONVERSATION


def test_docx_and_pdf_follow_the_utterances(conversation):
    document = docx.Document(io.BytesIO(exports.to_docx(conversation, "Call")))
    assert [p.text for p in document.paragraphs if not p.text.startswith(("Speaker", "Call"))] == CONVERSATION
    reader = pypdf.PdfReader(io.BytesIO(exports.to_pdf(conversation, "Call")))
    assert in_order(" ".join(page.extract_text() for page in reader.pages), CONVERSATION)


@pytest.mark.django_db
def test_search_snippets_follow_the_utterances(conversation, user):
    done_transcript(user, conversation)
    (hit,) = search(user, Filters(q="best"))
    assert f"{hit.before} {hit.match} {hit.after}".startswith("It was the best of times. Indeed it was.")


def test_no_item_ends_before_it_starts_even_when_scribe_says_so():
    chunk = channel_chunk(0, CHANNEL_0)
    chunk["words"][0]["end"] = chunk["words"][0]["start"] - 0.2
    data = to_canonical({"transcripts": [chunk, channel_chunk(1, CHANNEL_1)]})
    assert all(word["end"] >= word["start"] for word in data["words"])
    single = to_canonical({**chunk, "text": "x"})
    assert all(word["end"] >= word["start"] for word in single["words"])


@pytest.mark.django_db
def test_a_multichannel_job_from_scribe_reads_as_a_conversation_in_every_export(settings, user, auth_client):
    """End to end: the fake spreads each channel over the whole recording, so
    the two people talk over each other all the way through."""
    from tests.fakes.scribe import FakeScribe
    from tests.transcripts.test_scribe_jobs import make_job, run
    from transcripts.engines import TranscriptionOptions

    with FakeScribe() as fake:
        settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL = fake.api_key, fake.base_url
        settings.SCRIBE_WEBHOOK_SECRETS = []
        fake.script = [
            ("speaker_0", "It was the best of times. It was the worst of times."),
            ("speaker_1", "Indeed it was. Yes."),
        ]
        fake.audio_duration = 12.0
        transcript = run(make_job(user, TranscriptionOptions(multichannel=True)))
    assert transcript.status == "done", transcript.error
    sentences = ["It was the best of times.", "It was the worst of times.", "Indeed it was.", "Yes."]
    data = transcript.result.data
    assert all(word["end"] >= word["start"] for word in data["words"])
    texts = {"json": data["text"]}
    for fmt in ("txt", "srt", "vtt"):
        texts[fmt] = auth_client.get(f"/transcripts/{transcript.pk}/export/{fmt}/").content.decode()
    for fmt, text in texts.items():
        flat = " ".join(
            re.sub(
                r"Speaker \d( \(channel \d\))?:?|\[\d:\d\d\]|[\d:,.]+ --> [\d:,.]+|^\d+$", " ", text, flags=re.M
            ).split()
        )
        for sentence in sentences:  # no sentence split by the other channel's words
            assert sentence in flat, (fmt, flat)
    starts = [c.start for c in srt.parse(texts["srt"])]
    assert starts == sorted(starts)
