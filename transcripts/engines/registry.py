"""The one place that knows which engines this server has: their classes,
which are available (Scribe needs an API key), the default, and the queue
each engine's jobs go to. Pages, forms, the live socket and the job runner
all ask here."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from transcripts import languages
from transcripts.engines.base import BatchEngine, Capabilities, PermanentEngineError

BUILTIN_ENGINES = {
    "local": "transcripts.engines.local.LocalEngine",
    "scribe": "transcripts.engines.scribe.engine.ScribeEngine",
}
# Celery queues by the kind of work: a few CPU-bound jobs at a time, many
# network-bound ones.
QUEUES = {"cpu": "cpu", "io": "io"}


def engine_paths() -> dict[str, str]:
    paths = dict(BUILTIN_ENGINES)
    for entry in settings.EXTRA_ENGINES:
        name, _, path = entry.partition("=")
        paths[name.strip()] = path.strip()
    return paths


def engine_class(name: str) -> type[BatchEngine]:
    try:
        return import_string(engine_paths()[name])
    except KeyError:
        raise PermanentEngineError(f"The engine “{name}” is not available on this server.") from None


@cache
def get_engine(name: str) -> BatchEngine:
    """One engine instance per process (the local one holds a loaded model)."""
    return engine_class(name)()


# A plug-in engine that declares nothing is taken at its word for everything.
UNDECLARED = Capabilities(
    languages=languages.COMMON, diarization=True, audio_events=True, keyterms=True, multichannel=True
)


def capabilities(name: str) -> Capabilities:
    """What the engine can honour here (the pages offer only this)."""
    try:
        declared = getattr(engine_class(name), "capabilities", None)
    except PermanentEngineError:
        return UNDECLARED
    return declared() if declared is not None else UNDECLARED


def is_configured(name: str) -> bool:
    return name != "scribe" or bool(settings.ELEVENLABS_API_KEY)


def label(name: str) -> str:
    """The engine's name for people ("Local (offline)"); an engine no longer
    installed keeps its plain name."""
    try:
        return getattr(engine_class(name), "label", name)
    except PermanentEngineError:
        return name


def available_engines() -> list[tuple[str, str]]:
    """(name, label) of the engines people may choose here, the default first."""
    names = [name for name in engine_paths() if is_configured(name)]
    default = default_engine()
    names.sort(key=lambda name: name != default)
    return [(name, label(name)) for name in names]


def default_engine() -> str:
    """DEFAULT_ENGINE when it is available here, else Scribe with a key, else local."""
    wanted = settings.DEFAULT_ENGINE or ("scribe" if settings.ELEVENLABS_API_KEY else "local")
    return wanted if wanted in engine_paths() and is_configured(wanted) else "local"


def queue_for(engine_name: str) -> str:
    """The queue of the engine's kind of work. An engine this process does not
    know (a plug-in only the workers have) goes to the CPU queue, whose worker
    fails the job with a readable message if it does not know it either."""
    try:
        kind = getattr(engine_class(engine_name), "kind", "cpu")
    except PermanentEngineError:
        kind = "cpu"
    return QUEUES[kind]
