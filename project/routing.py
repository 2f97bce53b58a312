"""The site's WebSocket routes (project/asgi.py serves them; tests open them
in-process). A page's socket rides on its session cookie, so its Origin is
checked; a socket opened with an API token (a script, an app using the
Scribe-compatible socket) is authenticated by that token alone
(api/socket_auth.py)."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from api import routing as api_routes
from realtime import routing as live_routes
from transcripts import routing as job_routes

websocket_urlpatterns = (
    job_routes.websocket_urlpatterns + live_routes.websocket_urlpatterns + api_routes.websocket_urlpatterns
)
sockets = URLRouter(websocket_urlpatterns)
websocket_application = api_routes.TokenSocketAuth(
    token_app=sockets, cookie_app=AllowedHostsOriginValidator(AuthMiddlewareStack(sockets))
)
