from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.models import ApiToken


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def token(user) -> str:
    return ApiToken.issue(user, name="script")[1]


@pytest.fixture
def api(token) -> APIClient:
    """Alice's API client (a full-access token)."""
    return bearer(token)


@pytest.fixture
def bob_api(other_user) -> APIClient:
    return bearer(ApiToken.issue(other_user, name="bob's")[1])
