"""Done transcripts made directly (no engine): canonical data and rows."""

from __future__ import annotations

import random

from transcripts import services
from transcripts.document import canonical
from transcripts.models import Media, Status, Transcript, TranscriptResult

VOCABULARY = (
    "the budget review meeting quarter numbers team plan launch customer design roadmap data "
    "market product we should think about next week maybe really good idea agree yes no "
    "question answer report sales growth risk timeline hire engineer support feedback"
).split()


def words_from(spec: list[tuple[str | None, str, float, float]], **extra) -> dict:
    """spec: (speaker_id, text, start, end) per word/event, in order."""
    tokens = []
    for speaker, text, start, end in spec:
        token = {
            "text": text,
            "start": start,
            "end": end,
            "logprob": -0.1,
            "type": "audio_event" if canonical.AUDIO_EVENT.match(text) else "word",
            **extra,
        }
        if speaker is not None:
            token["speaker_id"] = speaker
        tokens.append(token)
    return canonical.build(canonical.with_spacing(tokens), language_code="eng")


def sentence_data(text: str, *, speaker: str = "speaker_0", start: float = 0.0, step: float = 0.4) -> dict:
    spec = [
        (speaker, word, round(start + i * step, 3), round(start + i * step + step * 0.8, 3))
        for i, word in enumerate(text.split())
    ]
    return words_from(spec)


def long_data(words: int = 30_000, speakers: int = 4, seed: int = 1, pause_every: int = 40) -> dict:
    """A long meeting: ~0.36 s per word (30,000 words ≈ 3 hours), turns of
    10-80 words, an occasional "(laughter)", pauses between sentences."""
    rng = random.Random(seed)
    spec, clock, speaker, left_in_turn = [], 0.0, 0, 0
    for i in range(words):
        if left_in_turn <= 0:
            speaker, left_in_turn = rng.randrange(speakers), rng.randint(10, 80)
            clock += 0.6
        text = "(laughter)" if rng.random() < 0.003 else rng.choice(VOCABULARY)
        if i % pause_every == pause_every - 1:
            text += "."
            clock += 0.8
        length = 0.2 + rng.random() * 0.2
        spec.append((f"speaker_{speaker}", text, round(clock, 3), round(clock + length, 3)))
        clock += length + 0.04
        left_in_turn -= 1
    return words_from(spec)


def done_transcript(
    owner,
    data: dict,
    *,
    title: str = "Team meeting",
    media=None,
    engine: str = "local",
    language_code: str = "eng",
    **fields,
) -> Transcript:
    transcript = Transcript.objects.create(
        owner=owner,
        media=media,
        title=title,
        engine=engine,
        status=Status.DONE,
        progress=100,
        language_code=language_code,
        duration=max((w.get("end") or 0) for w in data["words"]) if data["words"] else 0,
        **fields,
    )
    TranscriptResult.objects.create(transcript=transcript, data=data, original=data, text=data["text"])
    return transcript


def stored_media(owner, path) -> Media:
    """A Media row for a real file, saved into storage as an upload would be."""
    from django.core.files import File

    from transcripts.media.probe import inspect

    info = inspect(str(path))
    media = services.media_for(owner, info, original_name=path.name, size=path.stat().st_size)
    with open(path, "rb") as handle:
        media.file.save("upload", File(handle, name=path.name), save=False)
    media.save()
    return media
