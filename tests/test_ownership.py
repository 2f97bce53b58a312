"""Every URL that names an object answers 404 to anyone but its owner.

The test walks the URL resolver, so a view added later is covered without
touching this file. Only the admin and public token links (made to be opened
by anyone holding the token) are skipped. The object ids tried are those of
every row owned by user A (any model with a foreign key to the user) and of
the rows hanging off A's transcript; user B owns nothing at all, so no id can
legitimately be B's.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver

from tests import support, web
from transcripts import resumable
from transcripts.engines import TranscriptionOptions
from transcripts.models import Media, ResumableUpload, Status, Transcript, TranscriptResult

SKIPPED_NAMESPACES = {"admin"}
# The API's token-authenticated routes (REST and the compatible endpoints);
# its account-page routes take the session like every page.
TOKEN_ROUTES = re.compile(r"^(api/v1/|v1/)")
# URL arguments that are bearer tokens: those pages are public by design.
PUBLIC_ARGUMENTS = re.compile(r"token|secret|signature|uidb64", re.I)
CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    """(route, name) of every pattern, routes joined from their resolvers."""
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            if inner in SKIPPED_NAMESPACES:
                continue
            yield from walk(entry, prefix + route, inner)
        elif isinstance(entry, URLPattern):
            yield prefix + route, f"{namespace}:{entry.name}" if namespace else entry.name


def object_routes() -> list[tuple[str, str]]:
    routes = []
    for route, name in walk(get_resolver()):
        arguments = [match["name"] for match in CONVERTER.finditer(route)]
        if route.startswith("^") or not arguments:
            continue  # regex routes are Django's own (static, auth) or have no object
        if any(PUBLIC_ARGUMENTS.search(argument) for argument in arguments):
            continue
        routes.append((route, name))
    return routes


def owned_rows(user) -> list[models.Model]:
    """Every row that belongs to `user`, directly or through its transcripts."""
    rows: list[models.Model] = []
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    transcripts = list(Transcript.objects.filter(owner=user))
    for model in apps.get_models():
        if model._meta.app_label in ("admin", "auth", "contenttypes", "sessions"):
            continue
        for field in model._meta.get_fields():
            if not (isinstance(field, models.ForeignKey | models.OneToOneField) and field.concrete):
                continue
            if field.related_model is user_model:
                rows.extend(model.objects.filter(**{field.name: user}))
            elif field.related_model is Transcript:
                rows.extend(model.objects.filter(**{f"{field.name}__in": transcripts}))
    return rows


def candidate_values(kind: str | None, rows: list[models.Model]) -> set[str]:
    if kind == "uuid":
        return {
            str(getattr(row, field.name))
            for row in rows
            for field in row._meta.concrete_fields
            if isinstance(field, models.UUIDField)
        }
    return {str(row.pk) for row in rows if isinstance(row.pk, int)}


def urls_for(route: str, rows: list[models.Model]) -> list[str]:
    """The route filled with A's ids: each argument in turn takes each candidate."""
    arguments = list(CONVERTER.finditer(route))
    urls = []
    for value_index, _ in enumerate(arguments):
        for value in candidate_values(arguments[value_index]["kind"], rows):
            filled = route
            for index, match in reversed(list(enumerate(arguments))):
                chosen = value if index == value_index else next(iter(candidate_values(match["kind"], rows)), "1")
                filled = filled[: match.start()] + chosen + filled[match.end() :]
            urls.append("/" + filled)
    return urls


@pytest.fixture
def alice_objects(user, speech, alice_extras):
    """One of each thing a user can own: transcripts (finished, running,
    failed), and what hangs off them or the user (see alice_extras)."""
    path = support.speech_file("Ownership is checked on every page.")
    media = Media(
        owner=user,
        original_name="a.wav",
        extension=".wav",
        size=path.stat().st_size,
        format_name="wav",
        duration=2.0,
        channels=1,
        sample_rate=22050,
    )
    with path.open("rb") as file:
        media.file.save("a.wav", file, save=True)
    done = Transcript.objects.create(
        owner=user, media=media, title="Alice's", engine="local", status=Status.DONE, duration=2.0
    )
    words = {
        "language_code": "en",
        "text": "hello",
        "words": [{"text": "hello", "start": 0.0, "end": 0.5, "type": "word", "speaker_id": "speaker_0"}],
    }
    TranscriptResult.objects.create(transcript=done, data=words, original=words, text="hello")
    from transcripts import sharing

    sharing.create_link(done, label="Board")
    running = Transcript.objects.create(
        owner=user, media=media, title="Running", engine="local", status=Status.TRANSCRIBING, duration=2.0
    )
    failed = Transcript.objects.create(
        owner=user, media=media, title="Failed", engine="local", status=Status.FAILED, duration=2.0, error="No."
    )
    resumable.open_upload(user, length=5000, filename="half.wav", engine="local", options=TranscriptionOptions())
    return [done, running, failed]


@pytest.fixture
def alice_extras(user):
    """Rows of the other apps: a live session with a viewer link, an API token,
    a webhook with a delivery, a share link comes with the transcript below."""
    from api.models import ApiToken, WebhookDelivery, WebhookEndpoint
    from realtime import services as live

    session = live.start_session(user, engine="local")
    live.create_link(session)
    ApiToken.issue(user, name="alice's")
    endpoint = WebhookEndpoint.objects.create(owner=user, url="https://example.com/in")
    WebhookDelivery.objects.create(endpoint=endpoint, event="ping", payload={})
    return session


@pytest.mark.django_db
def test_the_walker_finds_the_object_urls():
    routes = {route for route, _ in object_routes()}
    assert "transcripts/<int:pk>/" in routes
    assert "transcripts/<int:pk>/delete/" in routes
    assert not any(route.startswith("admin/") for route in routes)


@pytest.mark.django_db
def test_every_object_url_answers_404_to_another_user(client, user, other_user, alice_objects):
    rows = owned_rows(user)
    assert {type(row) for row in rows} >= {Transcript, Media, TranscriptResult, ResumableUpload}
    client.force_login(other_user)
    checked = 0
    for route, name in object_routes():
        if TOKEN_ROUTES.match(route):
            continue  # walked with an API token below
        for url in urls_for(route, rows):
            get = client.get(url)
            post = client.post(url, {"title": "Mine now", "next": "/"})
            assert get.status_code in (404, 405), f"GET {url} ({name}) answered {get.status_code} to another user"
            assert post.status_code in (404, 405), f"POST {url} ({name}) answered {post.status_code}"
            assert 404 in (get.status_code, post.status_code), f"{url} ({name}) never answered 404"
            checked += 1
    assert checked >= 6 * len(alice_objects)
    # Nothing changed for the owner.
    for transcript in alice_objects:
        fresh = Transcript.objects.get(pk=transcript.pk)
        assert (fresh.title, fresh.status) == (transcript.title, transcript.status)


@pytest.mark.django_db
def test_every_api_url_answers_404_to_another_users_token(user, other_user, alice_objects, settings):
    """The REST API and the Scribe-/OpenAI-compatible endpoints, walked with
    B's API token (as Bearer and as xi-api-key), every method."""
    from rest_framework.test import APIClient

    from api.models import ApiToken

    settings.API_RATE_CREATE = settings.API_RATE_TOKENS = settings.API_RATE_SEARCH = "100000/minute"

    rows = owned_rows(user)
    _, secret = ApiToken.issue(other_user, name="bob's")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_XI_API_KEY=secret)
    checked = 0
    for route, name in object_routes():
        if not TOKEN_ROUTES.match(route):
            continue
        for url in urls_for(route, rows):
            answers = {
                method: getattr(client, method)(url, {"title": "Mine now", "url": "https://b.example/x"}, format="json")
                for method in ("get", "post", "patch", "delete")
            }
            for method, response in answers.items():
                assert response.status_code in (404, 405), f"{method.upper()} {url} ({name}): {response.status_code}"
            assert any(response.status_code == 404 for response in answers.values()), f"{url} ({name}) never 404"
            checked += 1
    assert checked >= 40
    for transcript in alice_objects:
        fresh = Transcript.objects.get(pk=transcript.pk)
        assert (fresh.title, fresh.status) == (transcript.title, transcript.status)
    assert {type(row) for row in owned_rows(user)} == {type(row) for row in rows}  # nothing deleted


@pytest.mark.django_db
def test_the_walker_covers_the_api(alice_objects):
    routes = {route for route, _ in object_routes()}
    assert "api/v1/transcripts/<int:pk>/result/edits" in routes
    assert "api/v1/live/sessions/<uuid:session_uuid>/links/<int:link_id>" in routes
    assert "v1/speech-to-text/transcripts/<str:transcription_id>" in routes
    assert "api/v1/webhooks/<int:pk>/deliveries" in routes


@pytest.mark.django_db
def test_the_owner_reaches_the_same_urls(client, user, alice_objects):
    """The 404s above come from ownership, not from bad URLs."""
    client.force_login(user)
    done = alice_objects[0]
    for name in ("transcripts:detail", "transcripts:status"):
        from django.urls import reverse

        assert client.get(reverse(name, args=[done.pk])).status_code == 200


@pytest.mark.django_db
def test_unknown_ids_answer_404_like_foreign_ones(client, other_user):
    client.force_login(other_user)
    assert client.get(f"/transcripts/{10**9}/").status_code == 404
    assert client.get(f"/transcripts/{uuid.uuid4().int % 10**9}/status/").status_code == 404


# --- the job-progress WebSocket ------------------------------------------------


def publish_change(transcript: Transcript, progress: float) -> None:
    from transcripts.jobs.progress import publish_job

    Transcript.objects.filter(pk=transcript.pk).update(status=Status.TRANSCRIBING, progress=progress)
    publish_job(transcript.pk)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["channel layer", "database watch"])
def test_job_socket_only_carries_the_owners_jobs(make_site, user, other_user, mode):
    poll = {"PROGRESS_POLL_SECONDS": "0.3"} if mode == "database watch" else {}
    site = make_site(worker=False, **poll)
    alice = web.JobSocket(site.base_url, web.session_cookie(user))
    bob = web.JobSocket(site.base_url, web.session_cookie(other_user))
    transcript = Transcript.objects.create(owner=user, title="Secret plans", engine="local", duration=1)
    for progress in (10, 20, 30):
        publish_change(transcript, progress)
        support.wait_until(
            lambda p=progress: any(m["progress"] == p for m in alice.messages), 10, message=f"alice to see {progress}%"
        )
    alice.close()
    bob.close()
    assert all(message["id"] == transcript.pk for message in alice.messages)
    assert bob.messages == []


@pytest.mark.slow
def test_anonymous_job_socket_is_closed(make_site):
    from websockets.exceptions import InvalidStatus

    site = make_site(worker=False)
    try:
        socket = web.JobSocket(site.base_url, None)
    except InvalidStatus as refused:
        assert refused.response.status_code == 403  # refused at the handshake
        return
    support.wait_until(lambda: socket.closed_code is not None, 5, message="the socket to close")
    assert socket.messages == []
