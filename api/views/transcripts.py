"""Transcripts: create by upload, list, read, rename, delete, cancel, retry;
their recording. Every lookup is among the caller's own transcripts, so
another user's id is 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api import uploads
from api.pagination import NewestFirst
from api.problems import bad_request, conflict, not_found
from api.renderers import BINARY_RENDERERS
from api.serializers import RenameSerializer, TranscriptSerializer
from transcripts import search, services
from transcripts.forms import RenameForm, UploadOptionsForm
from transcripts.media import streaming
from transcripts.models import Status, Transcript


def owned(request, pk: int) -> Transcript:
    transcript = Transcript.objects.owned_by(request.user).select_related("media").filter(pk=pk).first()
    if transcript is None:
        raise not_found("No such transcript.")
    return transcript


def transcript_response(transcript: Transcript, status_code: int = 200, **headers) -> Response:
    transcript = Transcript.objects.select_related("media").get(pk=transcript.pk)  # the state as stored now
    return Response(TranscriptSerializer(transcript).data, status=status_code, headers=headers or None)


LIST_FILTERS = [
    OpenApiParameter("status", str, enum=Status.values, description="Only transcripts in this state."),
    OpenApiParameter("language", str, description="Only this language code."),
    OpenApiParameter("engine", str, description="Only this engine."),
    OpenApiParameter("from", OpenApiTypes.DATE, description="Created on or after this day."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Created on or before this day."),
]


def upload_request_schema():
    """The multipart body: a file and the upload page's options (read from
    the form, so a new option appears here by itself)."""
    fields = {"file": serializers.FileField(help_text="The recording (audio or video).")}
    form = UploadOptionsForm()
    for name, field in form.fields.items():
        fields[name] = form_field_as_serializer(field, form.get_initial_for_field(field, name))
    return inline_serializer("TranscriptUpload", fields)


def form_field_as_serializer(field, initial) -> serializers.Field:
    from django import forms

    common = {"required": False, "help_text": str(field.help_text or field.label or "")}
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(default=bool(initial), **common)
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(choices=[value for value, _ in field.choices], **common)
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(min_value=field.min_value, max_value=field.max_value, **common)
    if isinstance(field, forms.FloatField):
        return serializers.FloatField(**common)
    return serializers.CharField(**common)


class TranscriptList(ListAPIView):
    """Your transcripts, newest first, filtered; or a new one from an upload."""

    serializer_class = TranscriptSerializer
    pagination_class = NewestFirst
    throttle_scope = "create"
    parser_classes = [MultiPartParser]

    def get_queryset(self) -> QuerySet:
        filters = search.Filters.from_query(self.request.query_params)
        return search.filtered(self.request.user, filters).select_related("media")

    @extend_schema(parameters=LIST_FILTERS, operation_id="transcripts_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="transcripts_create",
        request={"multipart/form-data": upload_request_schema()},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Send the same key when retrying: the request never makes two transcripts.",
            )
        ],
        responses={
            202: OpenApiResponse(TranscriptSerializer, description="Stored and queued; `Location` is the transcript."),
            409: OpenApiResponse(description="The same Idempotency-Key is still being processed."),
            413: OpenApiResponse(description="The file is over the size limit."),
        },
    )
    def post(self, request, *args, **kwargs):
        outcome = uploads.create(request, request.user, request.data)
        headers = {"Location": reverse("api:transcript", args=[outcome.transcript.pk])}
        if outcome.replayed:
            headers["Idempotent-Replayed"] = "true"
        return transcript_response(outcome.transcript, status.HTTP_202_ACCEPTED, **headers)


class TranscriptDetail(APIView):
    @extend_schema(responses=TranscriptSerializer, operation_id="transcripts_retrieve")
    def get(self, request, pk: int):
        """A transcript's state: status, progress, error, options, language, duration."""
        return transcript_response(owned(request, pk))

    @extend_schema(request=RenameSerializer, responses=TranscriptSerializer, operation_id="transcripts_rename")
    def patch(self, request, pk: int):
        """Rename."""
        transcript = owned(request, pk)
        form = RenameForm(request.data)
        if not form.is_valid():
            raise bad_request(
                "validation", "A title needs 1 to 255 characters.", errors={"title": ["1 to 255 characters."]}
            )
        Transcript.objects.filter(pk=transcript.pk).update(title=form.cleaned_data["title"])
        return transcript_response(transcript)

    @extend_schema(responses={204: None}, operation_id="transcripts_destroy")
    def delete(self, request, pk: int):
        """Delete the transcript, and its recording once nothing else uses it."""
        services.delete(owned(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CancelJob(APIView):
    @extend_schema(
        request=None, responses={200: TranscriptSerializer, 409: OpenApiResponse(description="Not running.")}
    )
    def post(self, request, pk: int):
        """Cancel a queued or running job."""
        transcript = owned(request, pk)
        if not services.cancel(transcript):
            raise conflict("not_active", "This job had already finished.")
        return transcript_response(transcript)


class RetryJob(APIView):
    @extend_schema(request=None, responses={200: TranscriptSerializer, 409: OpenApiResponse(description="Not failed.")})
    def post(self, request, pk: int):
        """Run a failed or cancelled job again."""
        transcript = owned(request, pk)
        if not services.retry(transcript):
            raise conflict("not_retryable", "Only a failed or cancelled job can be retried.")
        return transcript_response(transcript)


class MediaView(APIView):
    renderer_classes = BINARY_RENDERERS

    @extend_schema(
        parameters=[OpenApiParameter("Range", str, OpenApiParameter.HEADER, description="e.g. bytes=0-1023")],
        responses={
            (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The recording."),
            (206, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The requested range."),
            302: OpenApiResponse(description="A short-lived link to the file in object storage."),
            416: OpenApiResponse(description="The range is past the end of the file."),
        },
    )
    def get(self, request, pk: int):
        """The recording, with HTTP range requests."""
        transcript = owned(request, pk)
        if transcript.media is None:
            raise not_found("This transcript has no recording.")
        return streaming.media_response(request._request, transcript.media)
