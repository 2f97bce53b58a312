"""Live sessions for API clients: a single-use token opens the live socket
(no cookie, any Origin), is good once and for that socket only; the
sessions' status and viewer links."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator

from api.models import ApiToken, SocketPurpose, SocketToken
from api.socket_auth import TokenSocketAuth
from realtime import services
from realtime.models import LiveSession, LiveStatus
from tests.api.conftest import bearer
from tests.api.test_auth import assert_problem
from tests.fakes.scribe import FakeScribe
from tests.realtime.live_support import LiveClient, frames, silence, tone


class WhoAmI(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        await self.send_json({"user": getattr(user, "username", None) or None, "auth": self.scope.get("auth")})


def cookie_side(scope, receive, send):
    async def app(scope, receive, send):
        scope = {**scope, "user": None, "auth": "cookie"}
        return await WhoAmI.as_asgi()(scope, receive, send)

    return app(scope, receive, send)


async def who(path: str, headers=None) -> dict:
    app = TokenSocketAuth(token_app=WhoAmI.as_asgi(), cookie_app=cookie_side)
    communicator = WebsocketCommunicator(app, path, headers=headers or [])
    connected, _ = await communicator.connect()
    assert connected
    answer = await communicator.receive_json_from()
    await communicator.disconnect()
    return answer


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_single_use_token_is_good_once_and_for_its_socket_only(user):
    _, live = await sync_to_async(SocketToken.issue)(user, SocketPurpose.LIVE)
    assert await who(f"/ws/live/?token={live}") == {"user": "alice", "auth": "single_use"}
    assert await who(f"/ws/live/?token={live}") == {"user": None, "auth": "single_use"}  # used up
    _, scribe = await sync_to_async(SocketToken.issue)(user, SocketPurpose.REALTIME_SCRIBE)
    assert (await who(f"/ws/live/?token={scribe}"))["user"] is None  # minted for another socket
    _, other = await sync_to_async(SocketToken.issue)(user, SocketPurpose.LIVE)
    assert (await who(f"/ws/jobs/?token={other}"))["user"] is None


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_api_token_in_a_header_opens_the_socket_unless_read_only(user):
    _, full = await sync_to_async(ApiToken.issue)(user, name="server")
    _, reader = await sync_to_async(ApiToken.issue)(user, name="reader", read_only=True)
    assert (await who("/ws/live/", [(b"xi-api-key", full.encode())]))["user"] == "alice"
    assert (await who("/ws/live/", [(b"authorization", f"Bearer {full}".encode())]))["user"] == "alice"
    assert (await who("/ws/live/", [(b"authorization", f"Bearer {reader}".encode())]))["user"] is None


@pytest.mark.asyncio
@pytest.mark.django_db
async def test_a_socket_without_a_token_goes_the_cookie_way():
    assert await who("/ws/live/") == {"user": None, "auth": "cookie"}


@pytest.mark.django_db
def test_minting_a_live_token(api):
    response = api.post("/api/v1/live/tokens", {"engine": "local", "language": "en"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"].startswith("sutkn_")
    assert body["socket_url"].startswith("ws://testserver/ws/live/?token=sutkn_")
    assert "engine=local" in body["socket_url"] and "language=en" in body["socket_url"]
    body = assert_problem(api.post("/api/v1/live/tokens", {"engine": "scribe"}, format="json"), 400)
    assert body["detail"] == "Scribe is not configured on this server; choose the local engine."


@pytest.mark.django_db
def test_a_read_only_token_cannot_mint_one(user):
    _, secret = ApiToken.issue(user, name="reader", read_only=True)
    assert_problem(bearer(secret).post("/api/v1/live/tokens", {}, format="json"), 403)


@pytest.mark.django_db
def test_sessions_and_viewer_links(api, user, bob_api, client):
    session = services.start_session(user, engine="local", language="en")
    services.append_segment(session.pk, 0, "Good morning.", None, 0.0, 1.0)
    listed = api.get("/api/v1/live/sessions").json()["results"]
    assert [item["uuid"] for item in listed] == [str(session.uuid)]
    detail = api.get(f"/api/v1/live/sessions/{session.uuid}").json()
    assert detail["status"] == "active" and detail["text"] == "Good morning." and detail["transcript"] is None
    link = api.post(f"/api/v1/live/sessions/{session.uuid}/links", {"expires": "1h"}, format="json").json()
    assert link["url"].startswith("http://testserver/live/view/") and link["expires_at"]
    assert client.get(link["url"]).status_code == 200
    assert api.delete(f"/api/v1/live/sessions/{session.uuid}/links/{link['id']}").status_code == 204
    assert client.get(link["url"]).status_code == 404
    assert_problem(bob_api.get(f"/api/v1/live/sessions/{session.uuid}"), 404)
    assert bob_api.get("/api/v1/live/sessions").json()["results"] == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_script_streams_a_live_session_with_a_minted_token(make_site, user, token):
    """No cookie and a foreign Origin: the token alone opens the live socket
    of a real server, and the session is saved to the token owner's library."""
    with FakeScribe() as fake:
        fake.realtime.script = ["minted tokens work"]
        site = make_site(worker=False, ELEVENLABS_API_KEY=fake.api_key, ELEVENLABS_BASE_URL=fake.base_url)
        minted = bearer(token).post("/api/v1/live/tokens", {}, format="json").json()
        # (This test process has no Scribe key; the site has, so the engine is chosen in the URL.)
        query = minted["socket_url"].split("?", 1)[1] + "&engine=scribe"
        ended = asyncio.run(stream_with_token(site.base_url, query))
    session = LiveSession.objects.select_related("transcript").get(transcript_id=ended["transcript"])
    assert session.owner_id == user.pk and session.status == LiveStatus.ENDED
    assert session.transcript.title.startswith("Live session")


async def stream_with_token(base_url: str, query: str) -> dict:
    async with LiveClient(base_url, None, query=query, origin="https://elsewhere.example") as live:
        await live.wait_for("ready")
        for frame in frames(tone(1.0) + silence(1.3)):
            await live.ws.send(frame)
        await live.wait_for("committed", text="minted tokens work")
        ended = await live.stop()
    with pytest.raises(websockets.InvalidStatus) as refused:  # the token is used up
        async with LiveClient(base_url, None, query=query):
            pass
    assert refused.value.response.status_code == 403
    return ended
