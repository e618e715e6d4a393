"""Defences of the public GraphQL endpoint: HTTP limits, operation limits, error hygiene.

- `GraphQLView` refuses oversized, non-JSON-object, badly encoded or too deeply nested
  bodies, over-long query texts and unsafe text in variables, with 4xx answers, before
  any GraphQL work is done.
- `operation_limits()` are the schema extensions that bound depth, aliases and tokens,
  allow one submission per operation, refuse unsafe text in literals and, in
  production, introspection (unless GRAPHQL_INTROSPECTION).
- `ErrorPolicy` keeps errors the client can act on readable, with a stable
  `extensions.code`, and masks everything else (no traceback, SQL or path).
"""

import json
import logging
import unicodedata
from functools import cache, partial
from typing import Any

from cross_web import HTTPException
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.templatetags.static import static
from graphql import GraphQLError, GraphQLSyntaxError, StringValueNode, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.django.views import GraphQLView as StrawberryGraphQLView
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

logger = logging.getLogger("glossary_backend.graphql")

SUBMISSION_FIELD = "submitQuizAttempt"


def unsafe_text(value: str) -> bool:
    """True when `value` has NUL or other control characters (tabs and newlines aside)
    or unpaired surrogates: PostgreSQL and psycopg cannot store those."""
    return any(
        unicodedata.category(char) in {"Cc", "Cs"} and char not in "\t\n\r" for char in value
    )


def _unsafe_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if unsafe_text(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if unsafe_text(str(key)):
            return path
        found = _unsafe_path(item, f"{path}.{key}")
        if found:
            return found
    return None


class GraphQLView(StrawberryGraphQLView):
    """Strawberry's Django view with the HTTP-level checks it lacks."""

    @property
    def graphql_ide_html(self) -> str:
        # Strawberry's GraphiQL page with the project's copies of its CDN files: the same
        # bytes (scripts/vendor_graphiql.py), so the page's integrity hashes still hold.
        return super().graphql_ide_html.replace("https://unpkg.com/", static("graphiql/"))

    def dispatch(self, request, *args, **kwargs):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.error_response(400, "Invalid Content-Length header.")
        if declared > settings.GRAPHQL_MAX_BODY_BYTES:
            return self.error_response(
                413, f"Request body is larger than {settings.GRAPHQL_MAX_BODY_BYTES} bytes."
            )
        if request.method == "POST":
            try:
                request.body.decode("utf-8")
            except UnicodeDecodeError:
                return self.error_response(400, "Request body is not valid UTF-8.")
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code >= 400 and response.get("Content-Type", "").startswith("text/"):
            # Strawberry's own refusals are plain text; answer JSON like the rest.
            return self.error_response(response.status_code, response.content.decode())
        return response

    @staticmethod
    def error_response(status: int, message: str) -> HttpResponse:
        code = {413: "PAYLOAD_TOO_LARGE", 405: "METHOD_NOT_ALLOWED", 404: "NOT_FOUND"}.get(
            status, "BAD_REQUEST"
        )
        return JsonResponse(
            {"errors": [{"message": message, "extensions": {"code": code}}]}, status=status
        )

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = json.loads(data)
        except RecursionError:
            raise HTTPException(400, "JSON is nested too deeply.") from None
        if not isinstance(value, dict):
            # Covers bodies that are strings, numbers, null, and batches (lists).
            raise HTTPException(400, "Expected a JSON object.")
        return value

    def parse_http_body(self, request):
        data = super().parse_http_body(request)
        if data.query is not None and len(data.query) > settings.GRAPHQL_MAX_QUERY_CHARS:
            raise HTTPException(
                400, f"Query is longer than {settings.GRAPHQL_MAX_QUERY_CHARS} characters."
            )
        path = _unsafe_path(data.variables or {}, "variables") or _unsafe_path(
            data.operation_name or "", "operationName"
        )
        if path:
            raise HTTPException(
                400, f"{path}: must not contain control characters or unpaired surrogates."
            )
        return data


class OneSubmissionPerOperation(ValidationRule):
    """Aliases must not batch quiz submissions: at most one per document."""

    def __init__(self, context):
        super().__init__(context)
        self.submissions = 0

    def enter_field(self, node, *_args):
        if node.name.value == SUBMISSION_FIELD:
            self.submissions += 1
            if self.submissions == 2:
                self.report_error(
                    GraphQLError(
                        f"At most one {SUBMISSION_FIELD} per request.",
                        node,
                        extensions={"code": "BAD_USER_INPUT"},
                    )
                )


class NoUnsafeTextInLiterals(ValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args):
        if unsafe_text(node.value):
            self.report_error(
                GraphQLError(
                    "String literals must not contain control characters or unpaired surrogates.",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )


@cache
def validation_rules(introspection: bool) -> tuple[type[ValidationRule], ...]:
    """The rules every operation is validated with, beyond GraphQL's own.

    The same classes every time (strawberry's QueryDepthLimiter and MaxAliasesLimiter
    would make new ones per request): validation results are cached per document and
    rules, so a fresh class would never hit the cache.
    """
    rules = [
        depth_validator(settings.GRAPHQL_MAX_DEPTH, should_ignore=None),
        alias_validator(settings.GRAPHQL_MAX_ALIASES),
        OneSubmissionPerOperation,
        NoUnsafeTextInLiterals,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def operation_limits() -> list:
    """Schema extension factories (a fresh instance per request) for the limits above.

    Frontends send the same few documents over and over: their validation results are
    kept in a bounded LRU cache (128 documents). Parsing is not cached: strawberry's
    ParserCache raises parse errors outside the path that gives them their code.
    """
    return [
        partial(MaxTokensLimiter, max_token_count=settings.GRAPHQL_MAX_TOKENS),
        lambda: AddValidationRules(list(validation_rules(settings.GRAPHQL_INTROSPECTION))),
        ValidationCache,
    ]


class ErrorPolicy(MaskErrors):
    """Readable, coded errors for what clients can act on; a generic one for the rest."""

    def __init__(self):
        super().__init__(should_mask_error=self.should_mask)

    @staticmethod
    def should_mask(error: GraphQLError) -> bool:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return False  # parse, validation and our own coded errors
        return not isinstance(original, PermissionDenied)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        logger.error("Unexpected error in %s", error.path, exc_info=original)
        if isinstance(original, OperationalError):
            # Lost connections and statement timeouts: worth a retry.
            message, code = "The service is busy or unavailable; try again.", "SERVICE_UNAVAILABLE"
        else:
            message, code = "Unexpected error.", "INTERNAL_SERVER_ERROR"
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": code},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        errors = super()._process_errors(errors)
        for error in errors:
            extensions = error.extensions if error.extensions is not None else {}
            if "code" not in extensions:
                extensions["code"] = self.code_for(error)
                error.extensions = extensions
        return errors

    @staticmethod
    def code_for(error: GraphQLError) -> str:
        if isinstance(error.original_error, PermissionDenied):
            return "FORBIDDEN"
        if isinstance(error, GraphQLSyntaxError):
            return "GRAPHQL_PARSE_FAILED"
        if error.path is None:
            return "GRAPHQL_VALIDATION_FAILED"
        return "BAD_USER_INPUT"
