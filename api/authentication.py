"""Who is calling: an API token (`Authorization: Bearer`), or the signed-in
page (session cookie plus CSRF). A read-only token may only read."""

from __future__ import annotations

from rest_framework import authentication, exceptions, permissions

from api.models import ApiToken


def bearer_secret(header: str) -> str | None:
    """The token in an `Authorization: Bearer <token>` header, else None."""
    scheme, _, secret = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip()


def token_user(secret: str | None):
    """(user, token) for a usable API token, else None. Records its use."""
    token = ApiToken.resolve(secret or "")
    if token is None:
        return None
    token.touch()
    return token.owner, token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        secret = bearer_secret(request.headers.get("Authorization", ""))
        if secret is None:
            return None
        found = token_user(secret)
        if found is None:
            raise exceptions.AuthenticationFailed("This API token is not valid (unknown or revoked).")
        return found

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class PageSessionAuthentication(authentication.SessionAuthentication):
    """The pages' own calls: their session cookie, with the CSRF token."""


class TokenScope(permissions.BasePermission):
    message = "This API token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only:
            return request.method in permissions.SAFE_METHODS
        return True
