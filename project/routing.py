"""The site's WebSocket routes behind session auth and the Origin check
(project/asgi.py serves them; tests open them in-process)."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from realtime import routing as live_routes
from transcripts import routing as job_routes

websocket_urlpatterns = job_routes.websocket_urlpatterns + live_routes.websocket_urlpatterns
websocket_application = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
