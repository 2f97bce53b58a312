"""/api/v1/: Verbatim's own REST API, its schema and browsable docs. Every
view authenticates itself (a bearer token, or the page's session), so none
goes through the site's login redirect."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from api import account
from api.views import library, live, results, transcripts, webhooks

app_name = "api"


def endpoint(view_class):
    return login_not_required(view_class.as_view())


urlpatterns = [
    path("v1/transcripts", endpoint(transcripts.TranscriptList), name="transcripts"),
    path("v1/transcripts/<int:pk>", endpoint(transcripts.TranscriptDetail), name="transcript"),
    path("v1/transcripts/<int:pk>/cancel", endpoint(transcripts.CancelJob), name="cancel"),
    path("v1/transcripts/<int:pk>/retry", endpoint(transcripts.RetryJob), name="retry"),
    path("v1/transcripts/<int:pk>/media", endpoint(transcripts.MediaView), name="media"),
    path("v1/transcripts/<int:pk>/result", endpoint(results.ResultView), name="result"),
    path("v1/transcripts/<int:pk>/result/edits", endpoint(results.EditView), name="edits"),
    path("v1/transcripts/<int:pk>/result/revert", endpoint(results.RevertView), name="revert"),
    path("v1/transcripts/<int:pk>/export/<str:fmt>", endpoint(results.ExportView), name="export"),
    path("v1/transcripts/<int:pk>/shares", endpoint(library.ShareList), name="shares"),
    path("v1/transcripts/<int:pk>/shares/<int:link_id>", endpoint(library.ShareDetail), name="share"),
    path("v1/search", endpoint(library.SearchView), name="search"),
    path("v1/engines", endpoint(library.EngineList), name="engines"),
    path("v1/me", endpoint(library.MeView), name="me"),
    path("v1/live/tokens", endpoint(live.LiveTokenView), name="live_tokens"),
    path("v1/live/sessions", endpoint(live.LiveSessionList), name="live_sessions"),
    path("v1/live/sessions/<uuid:session_uuid>", endpoint(live.LiveSessionDetail), name="live_session"),
    path("v1/live/sessions/<uuid:session_uuid>/links", endpoint(live.LiveLinkList), name="live_links"),
    path("v1/live/sessions/<uuid:session_uuid>/links/<int:link_id>", endpoint(live.LiveLinkDetail), name="live_link"),
    path("v1/webhooks", endpoint(webhooks.WebhookList), name="webhooks"),
    path("v1/webhooks/<int:pk>", endpoint(webhooks.WebhookDetail), name="webhook"),
    path("v1/webhooks/<int:pk>/deliveries", endpoint(webhooks.DeliveryList), name="deliveries"),
    path("v1/webhooks/<int:pk>/ping", endpoint(webhooks.PingWebhook), name="ping"),
    # The account page's section (session and CSRF, like every page).
    path("account/tokens", account.create_token, name="account_create_token"),
    path("account/tokens/<int:pk>/revoke", account.revoke_token, name="account_revoke_token"),
    path("account/webhooks", account.create_webhook, name="account_create_webhook"),
    path("account/webhooks/<int:pk>/delete", account.delete_webhook, name="account_delete_webhook"),
    path("account/webhooks/<int:pk>/ping", account.ping_webhook, name="account_ping_webhook"),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path("docs/", login_not_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", login_not_required(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]
