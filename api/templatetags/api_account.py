"""`{% api_account_section %}`: the account page's Developer API section."""

from django import template

from api.account import SHOW_ONCE, TokenForm, WebhookForm
from api.models import ApiToken, WebhookEndpoint

register = template.Library()
RECENT_DELIVERIES = 10


@register.inclusion_tag("api/_account.html", takes_context=True)
def api_account_section(context) -> dict:
    request = context["request"]
    user = request.user
    webhooks = list(WebhookEndpoint.objects.filter(owner=user))
    for endpoint in webhooks:
        endpoint.recent = list(endpoint.deliveries.select_related("transcript")[:RECENT_DELIVERIES])
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "tokens": ApiToken.objects.filter(owner=user, revoked_at__isnull=True),
        "webhooks": webhooks,
        "shown_once": request.session.pop(SHOW_ONCE, None),
        "token_form": TokenForm(),
        "webhook_form": WebhookForm(),
    }
