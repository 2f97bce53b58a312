"""A finished transcript's words (the canonical JSON, versioned with an
ETag), edits and revert (each needs `If-Match` with the version it was
based on, so two editors never overwrite each other silently), and exports."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.problems import ApiProblem, bad_request, not_found, precondition_failed, precondition_required
from api.renderers import BINARY_RENDERERS
from api.serializers import EditedSerializer, EditSerializer
from api.views.transcripts import owned
from transcripts import exports, results
from transcripts.document import edits, html
from transcripts.models import Status, Transcript
from transcripts.views.exports import download, export_file, export_options

NOT_FINISHED = "This transcript is not finished."
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag of the version this edit is based on.",
)
INCLUDE = OpenApiParameter("include", str, enum=["html"], description="`html`: also the rendered transcript.")


def etag(version: str) -> str:
    return f'"{version}"'


def finished(request, pk: int) -> Transcript:
    transcript = owned(request, pk)
    if transcript.status != Status.DONE:
        raise ApiProblem(404, "not_finished", NOT_FINISHED)
    return transcript


def matches(header: str, version: str) -> bool:
    """An If-Match / If-None-Match header names this version (weak or strong, or *)."""
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag(version) in tags


class ResultView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The canonical transcript (the Scribe response shape: language_code, text, words[]…); "
                "the ETag header is its version.",
            ),
            304: OpenApiResponse(description="Not changed since the ETag in If-None-Match."),
        },
    )
    def get(self, request, pk: int):
        """The words, speakers and timings (with edits)."""
        transcript = finished(request, pk)
        found = results.versioned_json(transcript.pk)
        if found is None:
            raise ApiProblem(404, "not_finished", NOT_FINISHED)
        body, version = found
        if matches(request.headers.get("If-None-Match", ""), version):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag(version)
        response["Cache-Control"] = "private, no-cache"
        return response


def checked_version(request) -> str:
    header = request.headers.get("If-Match")
    if not header:
        raise precondition_required(
            "Send If-Match with the ETag of the version you edited (GET the result first), "
            "so an edit made meanwhile is not overwritten."
        )
    return header.strip().removeprefix("W/").strip('"')


def edited_response(request, cache: dict) -> Response:
    version = results.version_of(cache["key"])
    body = {"version": version, "speakers": cache["speakers"]}
    if request.query_params.get("include") == "html":
        body["html"] = html.as_body(cache, editable=True).html
    return Response(body, headers={"ETag": etag(version)})


def run_edit(transcript_id: int, operation, expected: str, *, revert: bool = False) -> dict:
    try:
        if revert:
            return results.revert(transcript_id, expected_version=expected)
        return results.edit(transcript_id, operation, expected_version=expected)
    except results.VersionMismatch:
        raise precondition_failed(
            "This transcript was changed since you loaded it (in another tab or by another client). "
            "Reload it and make your edit again."
        ) from None
    except edits.EditError as error:
        raise bad_request("edit_refused", str(error)) from None


def operation_for(edit: dict):
    kind = edit["operation"]
    if kind == "rename_speaker":
        return lambda data: edits.rename_speaker(data, edit["speaker_id"], edit["name"])
    if kind == "reassign_turn":
        return lambda data: edits.reassign(data, edit["first"], edit["last"], edit.get("speaker_id"))
    last = edit["last"] if edit.get("last") is not None else edit["first"]
    return lambda data: edits.correct_words(data, edit["first"], last, edit["text"])


class EditView(APIView):
    @extend_schema(
        request=EditSerializer,
        parameters=[IF_MATCH, INCLUDE],
        responses={
            200: EditedSerializer,
            412: OpenApiResponse(description="The result changed since the If-Match version."),
            428: OpenApiResponse(description="If-Match is missing."),
        },
    )
    def post(self, request, pk: int):
        """Rename a speaker, give words to another speaker, or correct words."""
        transcript = finished(request, pk)
        expected = checked_version(request)
        serializer = EditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cache = run_edit(transcript.pk, operation_for(serializer.validated_data), expected)
        return edited_response(request, cache)


class RevertView(APIView):
    @extend_schema(
        request=None,
        parameters=[IF_MATCH, INCLUDE],
        responses={200: EditedSerializer, 412: OpenApiResponse(description="Changed meanwhile."), 428: None},
    )
    def post(self, request, pk: int):
        """Undo every edit: back to the engine's output."""
        transcript = finished(request, pk)
        cache = run_edit(transcript.pk, None, checked_version(request), revert=True)
        return edited_response(request, cache)


EXPORT_PARAMETERS = [
    OpenApiParameter(
        "speakers",
        str,
        description="Speaker names (txt, docx, pdf, subtitles): true (the default: when there are several speakers "
        "or a name was given), always (also a lone speaker), false.",
    ),
    OpenApiParameter("timestamps", bool, description="Timestamps (txt, docx, pdf). Default true."),
    OpenApiParameter("max_chars", int, description="Subtitles: characters per line (10-200)."),
    OpenApiParameter("max_lines", int, description="Subtitles: lines per cue (1-5)."),
    OpenApiParameter("max_duration", float, description="Subtitles: longest cue in seconds (0.5-60)."),
    OpenApiParameter("pause", float, description="Subtitles: a pause this long starts a new cue (0: never)."),
    OpenApiParameter(
        "break_speakers", bool, description="Subtitles: a new cue when the speaker changes. Default true."
    ),
]


class ExportView(APIView):
    renderer_classes = BINARY_RENDERERS

    @extend_schema(
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(exports.FORMATS)),
            *EXPORT_PARAMETERS,
        ],
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")},
    )
    def get(self, request, pk: int, fmt: str):
        """The transcript as TXT, SRT, WebVTT, JSON, DOCX or PDF, with the page's export options."""
        transcript = finished(request, pk)
        if fmt not in exports.FORMATS:
            raise not_found(f"Unknown format; one of {', '.join(exports.FORMATS)}.")
        try:
            text_options, cue_options = export_options(page_params(request.query_params))
        except ValueError as error:
            raise bad_request("validation", str(error)) from None
        result = export_file(transcript.pk, fmt, transcript.title, text_options, cue_options)
        if result is None:
            raise ApiProblem(404, "not_finished", NOT_FINISHED)
        return download(result, transcript.title)


TRUE = ("1", "true", "on", "yes")
FLAGS = ("speakers", "timestamps", "break_speakers")


def page_params(query) -> dict:
    """The API's options as the page's export form sends them: flags default
    to on; a pause of 0 turns breaking at pauses off."""
    params = {"options": "1"}
    for flag in FLAGS:
        if query.get(flag, "true").lower() in TRUE:
            params[flag] = "1"
    if query.get("speakers", "").lower() == "always":
        params["speakers"] = "always"
    for name in ("max_chars", "max_lines", "max_duration", "pause"):
        if name in query:
            params[name] = query[name]
    if query.get("pause", "1") not in ("0", "0.0"):
        params["break_pauses"] = "1"
    return params
