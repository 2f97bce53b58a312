"""The test tiers hold: a test that starts a process or a browser is marked
(slow / browser), so the fast tier never starts one."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from tests import support
from tests.conftest import PROCESS_FIXTURES, unmarked_process_tests


def fake_item(fixtures: list[str], marks: list[str]):
    return SimpleNamespace(
        nodeid=f"test_{'_'.join(fixtures)}",
        fixturenames=fixtures,
        get_closest_marker=lambda name: object() if name in marks else None,
    )


def test_a_test_using_a_process_fixture_without_its_mark_stops_the_collection():
    assert unmarked_process_tests([fake_item(["make_site", "user"], [])]) == [
        "test_make_site_user uses make_site but is not marked slow"
    ]
    assert unmarked_process_tests([fake_item(["page"], ["slow"])]) == ["test_page uses page but is not marked browser"]
    marked = [fake_item([fixture], [mark]) for fixture, mark in PROCESS_FIXTURES.items()]
    assert unmarked_process_tests(marked + [fake_item(["user", "client"], [])]) == []


def test_a_process_started_from_an_unmarked_test_is_refused(tmp_path):
    with pytest.raises(support.UnmarkedTest, match="not marked slow or browser"):
        support.Process([sys.executable, "-c", "pass"], {"DATA_DIR": str(tmp_path)}, "unmarked")
    assert not (tmp_path / "unmarked.log").exists()


def test_every_collected_test_is_in_its_tier(request):
    assert unmarked_process_tests(request.session.items) == []
