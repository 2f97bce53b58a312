"""Edits: rename a speaker everywhere, reassign a turn, correct words keeping
the neighbours' timings, undo to the engine's output; saved over HTTP with CSRF."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from tests.transcripts.factories import done_transcript, words_from
from transcripts.document import canonical
from transcripts.document import edits as editing
from transcripts.document.speakers import speaker_label
from transcripts.models import TranscriptResult


@pytest.fixture
def data() -> dict:
    return words_from(
        [
            ("speaker_0", "Hello", 0.0, 0.4),
            ("speaker_0", "there", 0.5, 0.9),
            ("speaker_0", "team.", 1.0, 1.4),
            ("speaker_1", "Hi", 2.0, 2.2),
            ("speaker_1", "Dana,", 2.3, 2.6),
            ("speaker_1", "how", 2.7, 2.9),
            ("speaker_1", "are", 3.0, 3.1),
            ("speaker_1", "you?", 3.2, 3.5),
            ("speaker_0", "Fine.", 4.0, 4.4),
        ]
    )


def index_of(data: dict, text: str) -> int:
    return next(i for i, w in enumerate(data["words"]) if w["text"] == text)


def timings(words: list[dict]) -> list[tuple]:
    return [(w["text"], w["start"], w["end"]) for w in words]


def test_rename_speaker_applies_everywhere_and_keeps_ids(data):
    edited = editing.rename_speaker(data, "speaker_0", "  Dana  Scully ")
    labels = [speaker_label(edited, t.speaker_id) for t in canonical.turns(edited)]
    assert labels == ["Dana Scully", "Speaker 2", "Dana Scully"]
    assert edited["words"] == data["words"]
    assert "speaker_names" not in data  # pure: the input is not changed


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_rename_speaker_rejects_bad_names(data, name):
    with pytest.raises(editing.EditError):
        editing.rename_speaker(data, "speaker_0", name)


def test_rename_unknown_speaker_is_refused(data):
    with pytest.raises(editing.EditError):
        editing.rename_speaker(data, "speaker_9", "Ghost")


def test_reassign_turn_to_existing_and_new_speaker(data):
    turn = canonical.turns(data)[1]
    first, last = index_of(data, "Hi"), index_of(data, "you?")
    edited = editing.reassign(data, first, last, "speaker_0")
    assert [t.speaker_id for t in canonical.turns(edited)] == ["speaker_0"]
    assert canonical.turns(edited)[0].text.endswith("how are you? Fine.")
    fresh = editing.reassign(data, first, last, None)
    assert [t.speaker_id for t in canonical.turns(fresh)] == ["speaker_0", "speaker_2", "speaker_0"]
    assert canonical.turns(fresh)[1].text == turn.text
    with pytest.raises(editing.EditError):
        editing.reassign(data, first, last, "nobody")
    with pytest.raises(editing.EditError):
        editing.reassign(data, last, first, "speaker_0")


def test_correct_one_word_keeps_every_timing(data):
    i = index_of(data, "there")
    edited = editing.correct_words(data, i, i, "their")
    assert timings(edited["words"]) == [("their" if t == "there" else t, s, e) for t, s, e in timings(data["words"])]
    assert edited["text"] == "Hello their team. Hi Dana, how are you? Fine."


def test_correct_into_more_words_spreads_the_span_and_leaves_neighbours(data):
    i = index_of(data, "Dana,")
    edited = editing.correct_words(data, i, i, "Dana Scully,")
    before, after = data["words"][:i], data["words"][i + 1 :]
    assert edited["words"][:i] == before
    assert edited["words"][-len(after) :] == after
    new = [w for w in edited["words"][i : i + 3]]
    assert [w["text"] for w in new] == ["Dana", " ", "Scully,"]
    assert new[0]["start"] == 2.3 and new[2]["end"] == 2.6
    assert new[0]["end"] <= new[2]["start"]
    assert all(w["speaker_id"] == "speaker_1" for w in new)


def test_correct_several_words_into_one_and_delete(data):
    first, last = index_of(data, "how"), index_of(data, "you?")
    merged = editing.correct_words(data, first, last, "howdy?")
    assert merged["text"] == "Hello there team. Hi Dana, howdy? Fine."
    token = merged["words"][first]
    assert (token["start"], token["end"]) == (2.7, 3.5)
    removed = editing.correct_words(data, index_of(data, "there"), index_of(data, "there"), "")
    assert removed["text"] == "Hello team. Hi Dana, how are you? Fine."
    assert "  " not in canonical.join_text(removed["words"])


def test_correction_can_make_an_audio_event(data):
    i = index_of(data, "Fine.")
    edited = editing.correct_words(data, i, i, "(laughs)")
    assert edited["words"][i]["type"] == "audio_event"


def test_bad_ranges_are_refused(data):
    for first, last in [(-1, 0), (0, 999), (3, 2)]:
        with pytest.raises(editing.EditError):
            editing.correct_words(data, first, last, "x")
    with pytest.raises(editing.EditError):
        editing.correct_words(data, 1, 1, "x")  # a space, not a word


def test_revert_restores_original(data):
    original = copy.deepcopy(data)
    edited = editing.correct_words(editing.rename_speaker(data, "speaker_0", "A"), 0, 0, "Bye")
    assert editing.revert(original) == original
    assert edited != original


# --- over HTTP -----------------------------------------------------------------


@pytest.fixture
def transcript(user, data):
    return done_transcript(user, data)


def saved(transcript) -> TranscriptResult:
    return TranscriptResult.objects.get(transcript=transcript)


@pytest.mark.django_db
def test_edits_save_to_data_and_text_and_keep_original(auth_client, transcript, data):
    base = f"/transcripts/{transcript.pk}/edit"
    response = auth_client.post(
        f"{base}/speaker/", {"speaker_id": "speaker_1", "name": "Sam"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response.json()["speakers"] == [{"id": "speaker_0", "name": "Speaker 1"}, {"id": "speaker_1", "name": "Sam"}]
    assert "Sam</button>" in response.json()["html"]
    i = index_of(data, "team.")
    auth_client.post(f"{base}/words/", {"first": i, "last": i, "text": "crew."}, HTTP_ACCEPT="application/json")
    result = saved(transcript)
    assert result.data["speaker_names"] == {"speaker_1": "Sam"}
    assert result.text == "Hello there crew. Hi Dana, how are you? Fine."
    assert result.original == data
    page = auth_client.get(f"/transcripts/{transcript.pk}/").content.decode()
    assert "crew." in page and "Sam" in page
    response = auth_client.post(
        f"{base}/turn/", {"first": index_of(data, "Fine."), "last": index_of(data, "Fine."), "speaker_id": "speaker_1"}
    )
    assert response.status_code == 302
    assert [t.speaker_id for t in canonical.turns(saved(transcript).data)] == ["speaker_0", "speaker_1"]
    auth_client.post(f"{base}/revert/")
    assert saved(transcript).data == data and saved(transcript).text == data["text"]


@pytest.mark.django_db
def test_bad_edit_answers_400_with_a_message(auth_client, transcript):
    response = auth_client.post(
        f"/transcripts/{transcript.pk}/edit/words/", {"first": "x", "text": "a"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and "reload" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path,fields",
    [
        ("edit/speaker/", {"speaker_id": "speaker_0", "name": "X"}),
        ("edit/turn/", {"first": 0, "last": 0, "speaker_id": "speaker_1"}),
        ("edit/words/", {"first": 0, "last": 0, "text": "X"}),
        ("edit/revert/", {}),
        ("rename/", {"title": "X"}),
        ("shares/", {"allow_audio": "on"}),
    ],
)
def test_every_edit_needs_csrf(user, transcript, data, path, fields):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(f"/transcripts/{transcript.pk}/{path}", fields)
    assert response.status_code == 403
    assert saved(transcript).data == data
    assert transcript.share_links.count() == 0
    client.get(f"/transcripts/{transcript.pk}/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(f"/transcripts/{transcript.pk}/{path}", fields, HTTP_X_CSRFTOKEN=token)
    assert response.status_code in (200, 302)


@pytest.mark.django_db
def test_edits_need_post(auth_client, transcript):
    assert auth_client.get(f"/transcripts/{transcript.pk}/edit/words/").status_code == 405
