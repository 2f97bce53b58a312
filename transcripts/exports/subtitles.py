"""Subtitle cues from word timings.

Words are poured into lines of at most `max_chars` characters and lines into
cues of at most `max_lines`; a cue also ends when it would last longer than
`max_duration`, at a pause longer than `pause`, and (with `split_speakers`)
when the speaker changes. A single word longer than a line gets a line of its
own rather than being cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transcripts.document.speakers import labels_shown, speaker_label


@dataclass(frozen=True)
class CueOptions:
    max_chars: int = 42
    max_lines: int = 2
    max_duration: float = 7.0
    min_duration: float = 1.0  # no cue shows shorter than this (a short reply stays readable)
    pause: float = 1.5  # seconds of silence that start a new cue; 0 turns it off
    split_speakers: bool = True
    # None: label cues when there are speakers to tell apart (speakers.labels_shown).
    speaker_labels: bool | None = None

    def __post_init__(self) -> None:
        if not 10 <= self.max_chars <= 200:
            raise ValueError("Characters per line must be between 10 and 200.")
        if not 1 <= self.max_lines <= 5:
            raise ValueError("Lines per cue must be between 1 and 5.")
        if not 0.5 <= self.max_duration <= 60:
            raise ValueError("Cue duration must be between 0.5 and 60 seconds.")
        if not 0 <= self.min_duration <= min(10, self.max_duration):
            raise ValueError("The shortest cue must be between 0 and 10 seconds, and not longer than the longest.")
        if not 0 <= self.pause <= 60:
            raise ValueError("The pause must be between 0 and 60 seconds.")


@dataclass
class Cue:
    start: float
    end: float
    speaker: str | None
    lines: list[str] = field(default_factory=list)


def build_cues(data: dict, options: CueOptions = CueOptions()) -> list[Cue]:
    cues: list[Cue] = []
    cue: Cue | None = None
    previous_end = 0.0
    labels: dict[str, str] = {}
    show_labels = labels_shown(data) if options.speaker_labels is None else options.speaker_labels
    for word in data.get("words", []):
        if word["type"] == "spacing":
            continue
        text = word["text"].strip()
        if not text:
            continue
        start = word.get("start") or previous_end
        end = max(word.get("end") or start, start)
        speaker_id = word.get("speaker_id")
        if speaker_id is None:
            speaker = None
        elif speaker_id in labels:
            speaker = labels[speaker_id]
        else:
            speaker = labels[speaker_id] = speaker_label(data, speaker_id)
        if cue is None or _must_break(cue, text, start, end, speaker, previous_end, options):
            changed = cue is None or speaker != cue.speaker
            cue = Cue(start, end, speaker, [])
            cues.append(cue)
            # The label goes into the first line ("Dana: ..."), so it counts towards its length.
            if show_labels and speaker and changed:
                cue.lines.append(f"{speaker}:")
        _place(cue, text, options)
        cue.end = end
        previous_end = end
    finished = [_finish(cue, options) for cue in cues if any(line for line in cue.lines)]
    # In time order: overlapping utterances of several channels come one after
    # another in the words, but a later part of a long one may start after
    # the next one (the sort is stable, so one speaker's cues keep their order).
    return sorted(finished, key=lambda cue: cue.start)


def _must_break(
    cue: Cue, text: str, start: float, end: float, speaker: str | None, previous_end: float, options: CueOptions
) -> bool:
    if options.split_speakers and speaker != cue.speaker:
        return True
    if options.pause and start - previous_end >= options.pause:
        return True
    if end - cue.start > options.max_duration:
        return True
    last = cue.lines[-1] if cue.lines else ""
    fits_line = len(last) + 1 + len(text) <= options.max_chars if last else True
    return not fits_line and len(cue.lines) >= options.max_lines


def _place(cue: Cue, text: str, options: CueOptions) -> None:
    last = cue.lines[-1] if cue.lines else None
    if last is not None and len(last) + 1 + len(text) <= options.max_chars:
        cue.lines[-1] = f"{last} {text}"
    else:
        cue.lines.append(text)


def _finish(cue: Cue, options: CueOptions) -> Cue:
    # A single word longer than the limit is clipped; a short one is shown for the minimum.
    cue.end = min(max(cue.end, cue.start + options.min_duration, cue.start + 0.05), cue.start + options.max_duration)
    return cue


def timestamp(seconds: float, separator: str) -> str:
    millis = int(round(max(seconds, 0) * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
