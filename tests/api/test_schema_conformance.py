"""schemathesis against /api/schema/: every operation, generated requests
(valid and not) with a real token on the real app. No answer is a 5xx, and
every answer conforms to the schema (status code, content type, headers,
body), errors included."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import ApiToken
from tests.transcripts.factories import done_transcript, sentence_data

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def load_schema():
    """The schema /api/schema/ serves, made here at collection (schemathesis
    parametrizes from it), with the app its requests go to in-process."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()


@pytest.fixture
def same_connection(db):
    # As Django's test client does: a request must not close the test's
    # connection (it holds the transaction the test runs in).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(same_connection, user):
    """Objects to find: low ids, which generated paths hit now and then."""
    for index in range(3):
        done_transcript(user, sentence_data("the budget review meeting"), title=f"T{index}")
    return ApiToken.issue(user, name="schemathesis")[1]


@schema.parametrize()
@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_schema(case, seeded):
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded}"}, checks=CHECKS)
