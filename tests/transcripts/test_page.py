"""The transcript page as served: words with their index and start time,
turns as `canonical.turns` groups them, readable without JavaScript."""

from __future__ import annotations

import html
import re

import pytest
from django.utils import timezone

from tests.transcripts.factories import done_transcript, long_data, words_from
from transcripts import results
from transcripts.document import canonical
from transcripts.document import edits as editing
from transcripts.document import html as page_html
from transcripts.engines import EngineResult
from transcripts.jobs import runner
from transcripts.models import Status, Transcript, TranscriptResult


def test_rendered_turns_match_canonical_turns_exactly():
    data = editing.rename_speaker(long_data(words=3000, seed=5), "speaker_2", 'Dana "D" <Scully> & co')
    page = page_html.render_turns(data)
    turns = canonical.turns(data)
    index = {id(word): i for i, word in enumerate(data["words"])}
    ranges = [(int(a), int(b)) for a, b in re.findall(r'data-first="(\d+)" data-last="(\d+)"', page)]
    assert ranges == [(index[id(t.words[0])], index[id(t.words[-1])]) for t in turns]
    paragraphs = [html.unescape(re.sub(r"<[^>]+>", "", p)) for p in re.findall(r"<p>(.*?)</p>", page)]
    assert paragraphs == [t.text for t in turns]
    assert "Dana &quot;D&quot; &lt;Scully&gt; &amp; co" in page and "<Scully>" not in page
    for i, start in re.findall(r'<span(?: class="event")? data-i="(\d+)" data-s="([\d.]+)"', page)[:200]:
        assert float(start) == pytest.approx(data["words"][int(i)]["start"], abs=0.0051)


def test_channels_and_audio_events_are_marked():
    data = words_from([(None, "Hello", 0, 0.5), (None, "(applause)", 0.6, 1.0)], channel_index=1)
    other = words_from([(None, "Hi", 2, 2.5)], channel_index=0)
    data = {**data, "words": data["words"] + other["words"]}  # two channels to tell apart
    page = page_html.render_turns(data)
    assert '<span class="channel">channel 2</span>' in page
    assert '<span class="event" data-i="2"' in page


@pytest.mark.django_db
def test_done_page_reads_without_javascript(auth_client, user):
    transcript = done_transcript(user, words_from([("speaker_0", "Hello", 0, 0.5), ("speaker_0", "world.", 0.6, 1)]))
    page = auth_client.get(f"/transcripts/{transcript.pk}/").content.decode()
    text = re.sub(r"<[^>]+>", "", page.split('id="transcript"', 1)[1])
    assert "Hello world." in text
    assert 'href="?t=0"' in page
    assert "js/player.js" in page and "js/editor.js" in page and "data-reload-on-done" not in page


@pytest.mark.django_db
def test_page_of_a_job_in_progress_follows_the_job(auth_client, user):
    transcript = Transcript.objects.create(owner=user, title="Queued", engine="local", status=Status.QUEUED)
    page = auth_client.get(f"/transcripts/{transcript.pk}/").content.decode()
    assert "data-reload-on-done" in page and f'data-job-id="{transcript.pk}"' in page and "js/jobs.js" in page
    assert "js/editor.js" not in page
    assert auth_client.get(f"/transcripts/{transcript.pk}/export/txt/").status_code == 404


@pytest.mark.django_db
def test_the_rendered_body_is_stored_and_follows_every_change(auth_client, user):
    transcript = done_transcript(user, words_from([("speaker_0", "Hello", 0, 0.5)]))
    assert TranscriptResult.objects.get(transcript=transcript).page_cache == {}
    assert "Hello" in auth_client.get(f"/transcripts/{transcript.pk}/").content.decode()
    cache = TranscriptResult.objects.get(transcript=transcript).page_cache
    assert "Hello" in cache["html"] and cache["speakers"] == [{"id": "speaker_0", "name": "Speaker 1"}]
    auth_client.post(f"/transcripts/{transcript.pk}/edit/words/", {"first": 0, "last": 0, "text": "Howdy"})
    assert "Howdy" in TranscriptResult.objects.get(transcript=transcript).page_cache["html"]
    assert "Howdy" in auth_client.get(f"/transcripts/{transcript.pk}/").content.decode()
    # A writer that saves the row another way (save() bumps `updated`) is noticed too.
    result = TranscriptResult.objects.get(transcript=transcript)
    result.data = words_from([("speaker_0", "Goodbye", 0, 0.5)])
    result.save()
    assert "Goodbye" in auth_client.get(f"/transcripts/{transcript.pk}/").content.decode()


def test_speaker_names_are_buttons_only_for_the_owner():
    data = words_from([("speaker_0", "Hi", 0, 0.5), ("speaker_1", "Hello", 1, 1.5)])
    cache = page_html.page_cache(data, results.cache_key(timezone.now()))
    assert '<button type="button" class="speaker" data-role="reassign"' in page_html.as_body(cache, editable=True).html
    shared = page_html.as_body(cache, editable=False).html
    assert "<button" not in shared and '<b class="speaker">Speaker 1</b>' in shared
    # A lone speaker has no label, but the owner can still give a turn to someone.
    alone = page_html.page_cache(words_from([("speaker_0", "Hi", 0, 0.5)]), results.cache_key(timezone.now()))
    assert 'data-role="reassign"' in page_html.as_body(alone, editable=True).html
    assert "<button" not in page_html.as_body(alone, editable=False).html


@pytest.mark.django_db
def test_a_long_finished_transcript_has_its_page_rendered_already(user, django_capture_on_commit_callbacks):
    transcript = Transcript.objects.create(owner=user, title="Stand-up", engine="local", status=Status.TRANSCRIBING)
    words = [("speaker_0", "Ready" if i == 0 else "word", i, i + 0.5) for i in range(runner.PRERENDER_MIN_WORDS)]
    with django_capture_on_commit_callbacks(execute=True):  # it renders once the result is committed
        assert runner.finish(transcript.pk, EngineResult(words_from(words)))
    cache = TranscriptResult.objects.values_list("page_cache", flat=True).get(transcript=transcript)
    assert "Ready" in cache["html"]
