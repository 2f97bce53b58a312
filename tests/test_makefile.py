"""`make clean` tidies the checkout and never touches data/ (the database,
every recording, the secret key); `make clean-data` is the one target that
deletes it, and says so. Run on a copy of the Makefile in a scratch folder."""

from __future__ import annotations

import shutil
import subprocess

from tests import support


def scratch_checkout(tmp_path):
    shutil.copy(support.ROOT / "Makefile", tmp_path / "Makefile")
    for folder in ("data/media", ".venv/bin", ".pytest_cache", "staticfiles"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "data" / "verbatim.sqlite3").write_text("every transcript")
    return tmp_path


def make(folder, target: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in support.process_env().items() if key != "DATA_DIR"}
    return subprocess.run(["make", target], cwd=folder, env=env, capture_output=True, text=True, timeout=60)


def test_make_clean_keeps_the_data(tmp_path):
    folder = scratch_checkout(tmp_path)
    result = make(folder, "clean")
    assert result.returncode == 0, result.stderr
    assert (folder / "data" / "verbatim.sqlite3").read_text() == "every transcript"
    assert not (folder / ".venv").exists()
    assert not (folder / ".pytest_cache").exists()


def test_make_clean_data_deletes_it_and_says_so(tmp_path):
    folder = scratch_checkout(tmp_path)
    result = make(folder, "clean-data")
    assert result.returncode == 0, result.stderr
    assert not (folder / "data").exists()
    assert "Deleting data" in result.stdout
    assert (folder / ".venv").exists()
