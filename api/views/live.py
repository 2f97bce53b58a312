"""Live sessions for API clients: a single-use token to open the live
WebSocket (a script or a browser app has no session cookie), the sessions'
status, and their viewer links."""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import SocketPurpose, SocketToken
from api.pagination import LiveNewestFirst
from api.problems import bad_request, not_found
from api.serializers import (
    LiveLinkCreateSerializer,
    LiveLinkSerializer,
    LiveSessionSerializer,
    LiveTokenRequestSerializer,
    LiveTokenSerializer,
)
from api.views.library import LIVE_ENGINES
from realtime import services
from realtime.models import LiveLink, LiveSession
from realtime.views import LINK_LIFETIMES
from transcripts.engines.registry import is_configured

LIVE_SOCKET_PATH = "/ws/live/"


def socket_url(request, path: str, **query: str) -> str:
    base = request.build_absolute_uri(path)
    scheme = "wss" if base.startswith("https:") else "ws"
    return scheme + base[base.index(":") :] + "?" + urlencode({key: value for key, value in query.items() if value})


class LiveTokenView(APIView):
    throttle_scope = "tokens"

    @extend_schema(request=LiveTokenRequestSerializer, responses={201: LiveTokenSerializer})
    def post(self, request):
        """A single-use token (15 minutes) for the live captions socket. Connect to
        `socket_url`, send 16 kHz mono PCM16 frames, `{"type": "stop"}` to end;
        the session becomes a transcript in your library."""
        options = LiveTokenRequestSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        engine, language = options.validated_data["engine"], options.validated_data["language"].lower()
        if engine and engine not in LIVE_ENGINES:
            raise bad_request("validation", f"Live sessions use one of: {', '.join(LIVE_ENGINES)}.")
        if engine and not is_configured(engine):
            raise bad_request("not_configured", "Scribe is not configured on this server; choose the local engine.")
        token, secret = SocketToken.issue(request.user, SocketPurpose.LIVE)
        body = {
            "token": secret,
            "expires_at": token.expires_at,
            "socket_url": socket_url(request, LIVE_SOCKET_PATH, token=secret, engine=engine, language=language),
        }
        return Response(LiveTokenSerializer(body).data, status=status.HTTP_201_CREATED)


def owned_session(request, session_uuid) -> LiveSession:
    session = LiveSession.objects.filter(owner=request.user, uuid=session_uuid).first()
    if session is None:
        raise not_found("No such live session.")
    return session


class LiveSessionList(ListAPIView):
    """Your live sessions, newest first."""

    serializer_class = LiveSessionSerializer
    pagination_class = LiveNewestFirst

    def get_queryset(self):
        return LiveSession.objects.filter(owner=self.request.user)


class LiveSessionDetail(APIView):
    @extend_schema(responses=LiveSessionSerializer)
    def get(self, request, session_uuid):
        """A session's state and the captions committed so far; `transcript` once it ended."""
        return Response(LiveSessionSerializer(owned_session(request, session_uuid)).data)


class LiveLinkList(APIView):
    throttle_scope = "tokens"

    @extend_schema(responses=LiveLinkSerializer(many=True))
    def get(self, request, session_uuid):
        session = owned_session(request, session_uuid)
        return Response(LiveLinkSerializer(session.links.order_by("-created"), many=True).data)

    @extend_schema(request=LiveLinkCreateSerializer, responses={201: LiveLinkSerializer})
    def post(self, request, session_uuid):
        """A viewer link: anyone holding it watches the captions live."""
        session = owned_session(request, session_uuid)
        options = LiveLinkCreateSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        new = services.create_link(session, expires_in=LINK_LIFETIMES[options.validated_data["expires"]])
        context = {"request": request, "tokens": {new.link.pk: new.token}}
        return Response(LiveLinkSerializer(new.link, context=context).data, status=status.HTTP_201_CREATED)


class LiveLinkDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, session_uuid, link_id: int):
        """Revoke a viewer link."""
        link = LiveLink.objects.filter(pk=link_id, session=owned_session(request, session_uuid)).first()
        if link is None:
            raise not_found("No such live link.")
        link.revoke()
        return Response(status=status.HTTP_204_NO_CONTENT)
