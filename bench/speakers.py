"""Offline speaker identification on a generated conversation.

    python -m bench.speakers [--runs 2]

The conversation (tests/conversation.py: distinct espeak-ng voices taking
turns of a few seconds, known ground truth) goes through the local engine
three ways, in this process: without speakers, with the number of speakers
given, and with it estimated. Reported for each: DER (frame level, no
collar, over the reader's turns built from the words), WER and
speaker-attributed WER, speed against real time, and the diarization's cost
against the speech-to-text pass alone. Needs the speakers extra.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="verbatim-bench-speakers-"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()


def run(recording, **options) -> tuple[dict, float]:
    from transcripts.engines import EngineJob, TranscriptionOptions
    from transcripts.engines.local import LocalEngine

    job = EngineJob(
        transcript_id=0,
        media_path=str(recording.path),
        media_name="",
        duration=recording.duration,
        channels=1,
        options=TranscriptionOptions(**options),
    )
    started = time.perf_counter()
    transcript = LocalEngine().transcribe(job).transcript
    return transcript, time.perf_counter() - started


def scores(recording, transcript: dict) -> str:
    from tests.conversation import diarization_error_rate, speaker_attributed_wer, transcript_spans
    from tests.support import word_error_rate

    words = [word for word in transcript["words"] if word["type"] == "word"]
    der, mapping = diarization_error_rate(recording.turns, transcript_spans(transcript))
    reference = " ".join(turn.text for turn in recording.turns)
    wer = word_error_rate(reference, " ".join(word["text"] for word in words))
    sa_wer = speaker_attributed_wer(recording.turns, words, mapping)
    found = len({word["speaker_id"] for word in words})
    return f"speakers found {found}  DER {der:.3f}  WER {wer:.3f}  speaker-attributed WER {sa_wer:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    setup_django()
    from tests.conversation import conversation
    from transcripts.engines import speakers
    from transcripts.engines.local import load_model

    if not speakers.installed():
        raise SystemExit("The speakers extra is not installed (pip install -r requirements-speakers.txt).")
    load_model()
    speakers.diarizer()
    for voices in (2, 3):
        recording = conversation(speakers=voices)
        print(f"\n{voices} voices, {len(recording.turns)} turns, {recording.duration:.1f} s of audio")
        best: dict[str, float] = {}
        for _ in range(args.runs):  # alternated, so each shares the machine's noise
            for name, options in (
                ("no speakers", {}),
                ("count given", {"diarize": True, "num_speakers": voices}),
                ("estimated", {"diarize": True}),
            ):
                transcript, seconds = run(recording, **options)
                best[name] = min(best.get(name, seconds), seconds)
                measured = scores(recording, transcript) if options else ""
                print(f"{name:12s} {recording.duration / seconds:5.1f}x real time  {measured}", flush=True)
        for name in ("count given", "estimated"):
            extra = best[name] - best["no speakers"]
            print(
                f"{name}: {recording.duration / best[name]:.1f}x real time in all; the diarization pass "
                f"{recording.duration / max(extra, 1e-6):.1f}x real time, {best[name] / best['no speakers']:.2f}x "
                "the time of transcription alone (best runs)"
            )


if __name__ == "__main__":
    main()
