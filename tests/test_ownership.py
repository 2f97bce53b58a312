"""Every URL that names an object answers 404 to anyone but its owner.

The test walks the URL resolvers, HTTP and WebSocket, so a view or socket
added later is covered without touching this file, and every route with an
argument must have been tried. Only the admin and Django's password-reset
link are skipped. The values tried are the ids and UUIDs of every row
user A owns, directly or through a chain of foreign keys; the fixture gives
A one row of every model (a model added without one fails the test). User B
owns nothing at all, so no id can legitimately be B's. Routes that take a
bearer token (share and live links, opened by anyone holding the token) are
tried signed out, with A's ids and UUIDs in place of the token: an id is
not a token.
"""

from __future__ import annotations

import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.conf import settings
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.signup import create_invite
from project.routing import websocket_urlpatterns
from realtime import services as live
from realtime.models import LiveSession
from tests import support, web
from tests.realtime.live_support import IN_MEMORY_LAYER, InProcessSocket, session_cookie
from transcripts import quotas, resumable, sharing
from transcripts.engines import TranscriptionOptions
from transcripts.models import Media, Quota, Status, Transcript, TranscriptResult

SKIPPED_NAMESPACES = {"admin"}
# Django's own: a bad reset link is a page that says so.
SKIPPED_ROUTES = {"password_reset_confirm"}
# Apps whose rows nobody "owns" (framework tables).
FRAMEWORK_APPS = {"admin", "auth", "contenttypes", "sessions", "axes"}
# Arguments that are bearer tokens: those routes are for anyone holding one.
TOKEN_ARGUMENT = re.compile(r"token", re.I)
# The API's token-authenticated routes (REST and the compatible endpoints),
# walked with B's API token; its account-page routes take the session.
API_ROUTES = re.compile(r"^(api/v1/|v1/)")
# Arguments that are not objects, and the value that makes a valid URL.
FIXED_ARGUMENTS = {"fmt": "txt", "token_type": "realtime_scribe"}
CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")


def walk(patterns, prefix: str = "", namespace: str = ""):
    """(route, name) of every pattern, routes joined from their resolvers."""
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            if inner in SKIPPED_NAMESPACES:
                continue
            yield from walk(entry.url_patterns, prefix + route, inner)
        elif isinstance(entry, URLPattern):
            yield prefix + route, f"{namespace}:{entry.name}" if namespace else (entry.name or route)


def object_routes(patterns) -> list[tuple[str, str]]:
    """Routes with at least one argument naming something."""
    routes = []
    for route, name in walk(patterns):
        arguments = [match["name"] for match in CONVERTER.finditer(route)]
        if route.startswith("^") or name in SKIPPED_ROUTES:
            continue  # regex routes are Django's own (static files)
        if set(arguments) - set(FIXED_ARGUMENTS):
            routes.append((route, name))
    return routes


def takes_a_token(route: str) -> bool:
    return any(TOKEN_ARGUMENT.search(match["name"]) for match in CONVERTER.finditer(route))


def http_routes() -> list[tuple[str, str]]:
    return object_routes(get_resolver().url_patterns)


def socket_routes() -> list[tuple[str, str]]:
    return object_routes(websocket_urlpatterns)


def owned_rows(user) -> list[models.Model]:
    """Every row that belongs to `user`: rows with a foreign key to the user,
    then rows with a foreign key to those, and so on."""
    owned: dict[type[models.Model], list[models.Model]] = {apps.get_model(settings.AUTH_USER_MODEL): [user]}
    grown = True
    while grown:
        grown = False
        for model in apps.get_models():
            if model._meta.app_label in FRAMEWORK_APPS or model in owned:
                continue
            rows: list[models.Model] = []
            for field in model._meta.get_fields():
                if isinstance(field, models.ForeignKey | models.OneToOneField) and field.concrete:
                    parents = owned.get(field.related_model, [])
                    rows.extend(model.objects.filter(**{f"{field.name}__in": parents}) if parents else [])
            if rows:
                owned[model], grown = list(dict.fromkeys(rows)), True
    return [row for model, rows in owned.items() for row in rows if model._meta.app_label not in FRAMEWORK_APPS]


def candidate_values(kind: str | None, rows: list[models.Model]) -> list[str]:
    uuids = [
        str(getattr(row, field.name))
        for row in rows
        for field in row._meta.concrete_fields
        if isinstance(field, models.UUIDField)
    ]
    ids = [str(row.pk) for row in rows if isinstance(row.pk, int)]
    values = {"uuid": uuids, "int": ids}.get(kind or "str", ids + uuids)
    return list(dict.fromkeys(values))


def urls_for(route: str, rows: list[models.Model]) -> list[str]:
    """The route filled with A's ids: each argument in turn takes each candidate."""
    arguments = list(CONVERTER.finditer(route))
    urls = []
    for value_index, argument in enumerate(arguments):
        if argument["name"] in FIXED_ARGUMENTS:
            continue
        for value in candidate_values(argument["kind"], rows):
            filled = route
            for index, match in reversed(list(enumerate(arguments))):
                if match["name"] in FIXED_ARGUMENTS:
                    chosen = FIXED_ARGUMENTS[match["name"]]
                elif index == value_index:
                    chosen = value
                else:
                    chosen = next(iter(candidate_values(match["kind"], rows)), "1")
                filled = filled[: match.start()] + chosen + filled[match.end() :]
            urls.append("/" + filled)
    return urls


@pytest.fixture
def alice_objects(user):
    """One of each thing a user can own: transcripts finished, running and
    failed, with their media, result and a share link; a live session with a
    segment and a viewer link."""
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
    running = Transcript.objects.create(
        owner=user, media=media, title="Running", engine="local", status=Status.TRANSCRIBING, duration=2.0
    )
    failed = Transcript.objects.create(
        owner=user, media=media, title="Failed", engine="local", status=Status.FAILED, duration=2.0, error="No."
    )
    sharing.create_link(done)
    session = live.start_session(user, engine="local")
    live.append_segment(session.pk, 0, "live words", None, 0.0, 1.0)
    live.create_link(session)
    Quota.objects.create(user=user)  # blank: the site's defaults
    quotas.record(user, "local", 2.0)
    create_invite(user)
    resumable.open_upload(user, length=5000, filename="half.wav", engine="local", options=TranscriptionOptions())
    api_rows(user, done)
    return [done, running, failed]


def api_rows(user, done: Transcript) -> None:
    """An API token, a socket token, an idempotent request, a webhook with a
    delivery, and a Scribe-compatible request."""
    from api.models import (
        ApiToken,
        IdempotencyKey,
        ScribeRequest,
        SocketPurpose,
        SocketToken,
        WebhookDelivery,
        WebhookEndpoint,
    )

    ApiToken.issue(user, name="alice's")
    SocketToken.issue(user, SocketPurpose.LIVE)
    IdempotencyKey.objects.create(owner=user, key="k-1", fingerprint="f", transcript=done, completed=True)
    endpoint = WebhookEndpoint.objects.create(owner=user, url="https://example.com/in")
    WebhookDelivery.objects.create(endpoint=endpoint, event="ping", payload={})
    ScribeRequest.objects.create(transcript=done, request_id="r" * 32)


@pytest.mark.django_db
def test_alice_owns_a_row_of_every_model(user, alice_objects):
    ours = {model for model in apps.get_models() if model._meta.app_label not in FRAMEWORK_APPS}
    assert ours - {type(row) for row in owned_rows(user)} == set()


@pytest.mark.django_db
def test_the_walker_finds_the_object_urls():
    routes = {route for route, _ in http_routes()}
    assert {"transcripts/<int:pk>/", "transcripts/<int:pk>/delete/", "live/<uuid:session_uuid>/links/"} <= routes
    assert {"s/<str:token>/", "live/view/<str:token>/"} <= routes
    assert not any(route.startswith("admin/") for route in routes)
    assert {route for route, _ in socket_routes()} == {"ws/live/view/<str:token>/"}


@pytest.mark.django_db
def test_every_object_url_answers_404_to_another_user(client, user, other_user, alice_objects):
    rows = owned_rows(user)
    client.force_login(other_user)
    anyone = Client()
    for route, name in http_routes():
        if API_ROUTES.match(route):
            continue  # walked with an API token below
        urls = urls_for(route, rows)
        assert urls, f"{route} ({name}): no URL made from Alice's rows"
        visitor = anyone if takes_a_token(route) else client
        for url in urls:
            get = visitor.get(url)
            post = visitor.post(url, {"title": "Mine now", "next": "/"})
            assert get.status_code in (404, 405), f"GET {url} ({name}) answered {get.status_code} to another user"
            assert post.status_code in (404, 405), f"POST {url} ({name}) answered {post.status_code}"
            assert 404 in (get.status_code, post.status_code), f"{url} ({name}) never answered 404"
    # Nothing changed for the owner.
    for transcript in alice_objects:
        fresh = Transcript.objects.get(pk=transcript.pk)
        assert (fresh.title, fresh.status) == (transcript.title, transcript.status)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_object_socket_refuses_another_user(user, other_user, alice_objects, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY_LAYER  # see tests/realtime/test_live_socket.py
    rows = await sync_to_async(owned_rows)(user)
    cookie = await sync_to_async(session_cookie)(other_user)
    session = next(row for row in rows if type(row).__name__ == "LiveSession")
    paths = []
    for route, name in socket_routes():
        urls = urls_for(route, rows)
        assert urls, f"{route} ({name}): no URL made from Alice's rows"
        paths += urls
    # The live socket names a session in its query string when resuming it.
    paths.append(f"/ws/live/?engine=local&resume={session.uuid}")
    for path in paths:
        async with InProcessSocket(path, cookie) as socket:
            if socket.accepted:
                error = await socket.wait_for("error")
                assert error["code"] == "not_resumable", path
                assert await socket.wait_closed() == 4429, path
    assert await LiveSession.objects.filter(owner=other_user).acount() == 0


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
    for route, name in http_routes():
        if not API_ROUTES.match(route):
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
    routes = {route for route, _ in http_routes()}
    assert "api/v1/transcripts/<int:pk>/result/edits" in routes
    assert "api/v1/live/sessions/<uuid:session_uuid>/links/<int:link_id>" in routes
    assert "v1/speech-to-text/transcripts/<str:transcription_id>" in routes
    assert "api/v1/webhooks/<int:pk>/deliveries" in routes
