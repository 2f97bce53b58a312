"""The OpenAPI schema's shared parts: every operation documents the
problem-details errors it can answer with (RFC 9457)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from api.problems import PROBLEM_CONTENT_TYPE

# Errors most operations can give; "default" covers the rest (405, 406, 413, 415...).
COMMON_ERRORS = {
    "400": "The request is not valid (`detail` says why; `errors` by field).",
    "401": "No API token, or one that is unknown or revoked.",
    "403": "A read-only token tried to change something, or a page call without its CSRF token.",
    "404": "No such object among yours (another user's object is 404 too).",
    "429": "Too many requests: wait `Retry-After` seconds.",
}


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="A URN naming the kind of problem.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong, in the words the pages use.")
    code = serializers.CharField(help_text="A stable, machine-readable code.")
    instance = serializers.CharField(required=False, help_text="The path of the request.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages by field, when a form was refused.",
    )

    class Meta:
        ref_name = "Problem"


class ProblemAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        problem = self._get_response_for_code(ProblemSerializer, "default", [PROBLEM_CONTENT_TYPE], direction)
        for code, response in responses.items():
            if code.isdigit() and int(code) >= 400 and "content" not in response:
                response["content"] = problem["content"]
        for code, description in COMMON_ERRORS.items():
            responses.setdefault(code, {**problem, "description": description})
        responses.setdefault("default", {**problem, "description": "Any other error, as problem details."})
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "An API token from the account page."}


class PageSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.PageSessionAuthentication"
    name = "cookieAuth"
    priority = -1

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The pages' own calls."}
