"""The API's WebSocket wiring: the compatible sockets' routes and the
token authentication in front of every socket (read by project/routing.py)."""

from api.compat.routing import websocket_urlpatterns
from api.socket_auth import TokenSocketAuth

__all__ = ["TokenSocketAuth", "websocket_urlpatterns"]
