"""Outgoing webhooks: register URLs, see their deliveries, send a test event."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import SUBSCRIBABLE_EVENTS, WebhookDelivery, WebhookEndpoint
from api.pagination import NewestFirst
from api.problems import not_found
from api.serializers import WebhookDeliverySerializer, WebhookSerializer
from api.webhooks import events, targets

MAX_WEBHOOKS_PER_USER = 20


class WebhookInput(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[str(event) for event in SUBSCRIBABLE_EVENTS]),
        required=False,
        allow_empty=False,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "active")

    def validate_url(self, url: str) -> str:
        try:
            targets.check(url)
        except targets.TargetRefused as refused:
            raise serializers.ValidationError(str(refused)) from None
        return url


def owned_webhook(request, pk: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(owner=request.user, pk=pk).first()
    if endpoint is None:
        raise not_found("No such webhook.")
    return endpoint


class WebhookList(APIView):
    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request):
        return Response(WebhookSerializer(WebhookEndpoint.objects.filter(owner=request.user), many=True).data)

    @extend_schema(request=WebhookInput, responses={201: WebhookSerializer})
    def post(self, request):
        """Register a URL. Its signing `secret` is in this answer only."""
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        if WebhookEndpoint.objects.filter(owner=request.user).count() >= MAX_WEBHOOKS_PER_USER:
            raise serializers.ValidationError(f"At most {MAX_WEBHOOKS_PER_USER} webhooks.")
        endpoint = data.save(owner=request.user)
        body = WebhookSerializer(endpoint, context={"show_secret": True}).data
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    @extend_schema(responses=WebhookSerializer)
    def get(self, request, pk: int):
        return Response(WebhookSerializer(owned_webhook(request, pk)).data)

    @extend_schema(request=WebhookInput, responses=WebhookSerializer)
    def patch(self, request, pk: int):
        data = WebhookInput(owned_webhook(request, pk), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(WebhookSerializer(data.save()).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        owned_webhook(request, pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryList(ListAPIView):
    """A webhook's deliveries, newest first: state, attempts, the receiver's answer."""

    serializer_class = WebhookDeliverySerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        endpoint = owned_webhook(self.request, self.kwargs["pk"])
        return WebhookDelivery.objects.filter(endpoint=endpoint)


class PingWebhook(APIView):
    throttle_scope = "tokens"

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request, pk: int):
        """Send a `ping` event to this webhook now."""
        delivery_id = events.ping(owned_webhook(request, pk))
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
