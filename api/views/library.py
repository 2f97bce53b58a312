"""Share links of a transcript, search across the library, the engines of
this server, and who the caller is."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import ApiToken
from api.problems import bad_request, conflict, not_found
from api.serializers import (
    EngineSerializer,
    MeSerializer,
    SearchHitSerializer,
    ShareCreateSerializer,
    ShareLinkSerializer,
)
from api.views.transcripts import LIST_FILTERS, owned
from transcripts import search, sharing
from transcripts.engines.registry import available_engines, default_engine, engine_class
from transcripts.models import ShareLink, Status


class ShareList(APIView):
    throttle_scope = "tokens"

    @extend_schema(responses=ShareLinkSerializer(many=True))
    def get(self, request, pk: int):
        """The transcript's share links (their URLs were shown once, when made)."""
        transcript = owned(request, pk)
        return Response(ShareLinkSerializer(sharing.links_for(transcript), many=True).data)

    @extend_schema(
        request=ShareCreateSerializer,
        responses={201: ShareLinkSerializer, 409: OpenApiResponse(description="The transcript is not finished.")},
    )
    def post(self, request, pk: int):
        """A read-only link for people without an account; its `url` is shown only here."""
        transcript = owned(request, pk)
        options = ShareCreateSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        if transcript.status != Status.DONE:
            raise conflict("not_finished", "Only a finished transcript can be shared.")
        try:
            link, token = sharing.create_link(transcript, **options.validated_data)
        except ValueError as error:
            raise bad_request("validation", str(error)) from None
        context = {"request": request, "tokens": {link.pk: token}}
        return Response(ShareLinkSerializer(link, context=context).data, status=status.HTTP_201_CREATED)


class ShareDetail(APIView):
    def link(self, request, pk: int, link_id: int) -> ShareLink:
        link = ShareLink.objects.filter(pk=link_id, transcript=owned(request, pk)).first()
        if link is None:
            raise not_found("No such share link.")
        return link

    @extend_schema(responses=ShareLinkSerializer)
    def get(self, request, pk: int, link_id: int):
        return Response(ShareLinkSerializer(self.link(request, pk, link_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int, link_id: int):
        """Revoke: the link stops working on its next request."""
        self.link(request, pk, link_id).revoke()
        return Response(status=status.HTTP_204_NO_CONTENT)


class SearchView(APIView):
    throttle_scope = "search"
    throttled_methods = {"GET"}

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description='Words to find; "quoted phrases", or, -word.'),
            OpenApiParameter("limit", int, description="At most this many hits (1-100, default 20)."),
            *LIST_FILTERS,
        ],
        responses=SearchHitSerializer(many=True),
    )
    def get(self, request):
        """Finished transcripts whose words match, newest first, each with the passage and its time."""
        filters = search.Filters.from_query(request.query_params)
        if not filters.q:
            raise bad_request("validation", "Type something to search for.", errors={"q": ["This field is required."]})
        try:
            limit = min(max(int(request.query_params.get("limit", search.RESULTS_LIMIT)), 1), 100)
        except ValueError:
            raise bad_request("validation", "limit must be a whole number.") from None
        hits = search.search(request.user, filters, limit=limit)
        return Response(SearchHitSerializer(hits, many=True).data)


LIVE_ENGINES = ("local", "scribe")


class EngineList(APIView):
    @extend_schema(responses=EngineSerializer(many=True))
    def get(self, request):
        """The engines on this server (the default first) and what each can do."""
        default = default_engine()
        engines = []
        for name, label in available_engines():
            cls = engine_class(name)
            capabilities = getattr(cls, "capabilities", None)
            engines.append(
                {
                    "name": name,
                    "label": label,
                    "default": name == default,
                    "kind": getattr(cls, "kind", "cpu"),
                    "live": name in LIVE_ENGINES,
                    "capabilities": capabilities().to_dict() if callable(capabilities) else None,
                }
            )
        return Response(EngineSerializer(engines, many=True).data)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        """Who the caller is, and the token in use."""
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return Response(
            {
                "username": request.user.get_username(),
                "email": request.user.email,
                "token": {"name": token.name, "read_only": token.read_only} if token else None,
            }
        )
