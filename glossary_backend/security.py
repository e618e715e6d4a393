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
from functools import cache, lru_cache, partial
from types import GeneratorType
from typing import Any

from cross_web import HTTPException
from django.conf import settings
from django.core.exceptions import PermissionDenied, TooManyFieldsSent
from django.db import OperationalError
from django.http import HttpResponse, HttpResponseNotModified
from django.templatetags.static import static
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationRule,
    VariableDefinitionNode,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.django.views import GraphQLView as StrawberryGraphQLView
from strawberry.extensions import AddValidationRules, MaskErrors, MaxTokensLimiter, SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from glossary_backend import caching, columns, documents, errors
from glossary_backend.inputs import unsafe_text

logger = logging.getLogger("glossary_backend.graphql")

# Fields that aliases must not batch: one of each per document.
ONCE_PER_OPERATION = ("submitQuizAttempt", "startQuizAttempt")


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

    def should_render_graphql_ide(self, request) -> bool:
        # A GET by documentId has no `query` either: it is a request, not a browser visit.
        return request.query_params.get("documentId") is None and super().should_render_graphql_ide(
            request
        )

    def dispatch(self, request, *args, **kwargs):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.error_response(400, "Invalid Content-Length header.")
        if declared > settings.GRAPHQL_MAX_BODY_BYTES:
            return self.error_response(
                413, f"Request body is larger than {settings.GRAPHQL_MAX_BODY_BYTES} bytes."
            )
        # GET carries the document and variables in the URL: the same bound as a body.
        if len(request.META.get("QUERY_STRING", "")) > settings.GRAPHQL_MAX_BODY_BYTES:
            return self.error_response(
                414, f"The query string is longer than {settings.GRAPHQL_MAX_BODY_BYTES} bytes."
            )
        try:
            repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
        except TooManyFieldsSent:
            return self.error_response(
                400,
                f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query string parameters.",
            )
        if repeated:
            # As in the exports: a parameter given twice is a mistake, not a choice.
            return self.error_response(400, f"Given more than once: {', '.join(repeated)}.")
        if request.method == "POST":
            try:
                request.body.decode("utf-8")
            except UnicodeDecodeError:
                return self.error_response(400, "Request body is not valid UTF-8.")
        refusal = self.resolve_trusted_document(request)
        if refusal is not None:
            return refusal
        public = request.method == "GET" and caching.audience(request) == caching.PUBLIC
        cache_key, epoch = None, None
        if public and getattr(request, "trusted_document", None) is not None:
            cache_key = self.response_cache_key(request)
        if cache_key is not None:
            entry, epoch = caching.cached_answer(cache_key)
            if entry is not None:
                response = HttpResponse(entry.body, content_type=entry.content_type)
                caching.apply_public_headers(response, entry.sent_keys, entry.etag)
                return self.conditional(request, response)
        if public:
            request.surrogate_keys = set()
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code >= 400 and response.get("Content-Type", "").startswith("text/"):
            # Strawberry's own refusals are plain text; answer JSON like the rest.
            response = self.error_response(response.status_code, response.content.decode())
        answered = response.status_code == 200 and getattr(request, "graphql_answered", False)
        cacheable = caching.UNCACHEABLE not in (getattr(request, "surrogate_keys", None) or ())
        if answered and public and cacheable and not request.graphql_errors:
            caching.apply_public_headers(response, request.surrogate_keys)
            if cache_key is not None:
                caching.store_answer(cache_key, response, request.surrogate_keys, epoch)
            return self.conditional(request, response)
        if caching.audience(request) == caching.PRIVATE:
            caching.apply_private_headers(response)
        else:
            caching.apply_no_store(response)
        return response

    @staticmethod
    def conditional(request, response) -> HttpResponse:
        """304 Not Modified, with the answer's caching headers, when the caller has it."""
        if not caching.not_modified(request, response):
            return response
        unchanged = HttpResponseNotModified()
        for header in ("Cache-Control", "ETag", "Vary", "Surrogate-Key", "Cache-Tag"):
            if response.has_header(header):
                unchanged[header] = response[header]
        return unchanged

    def resolve_trusted_document(self, request) -> HttpResponse | None:
        """Sets `request.trusted_document` from `documentId` (query string for GET, JSON
        body for POST); the refusal for an unknown or malformed id, or for text from a
        caller limited to trusted documents."""
        document_id = None
        if request.method == "GET":
            document_id = request.GET.get("documentId")
        elif request.method == "POST" and b'"documentId"' in request.body:
            try:
                body = json.loads(request.body)
            except (ValueError, RecursionError):
                body = None  # strawberry answers it
            if isinstance(body, dict):
                document_id = body.get("documentId")
                if document_id is not None and not isinstance(document_id, str):
                    return self.error_response(400, "documentId must be a string.")
        if document_id is None:
            sends_text = request.method == "POST" or "query" in request.GET
            if (
                sends_text
                and settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY
                and not may_send_text(request)
            ):
                return self.error_response(
                    403,
                    "Only registered documents may run here: send documentId.",
                    code="TRUSTED_DOCUMENT_REQUIRED",
                )
            return None
        if not documents.DOCUMENT_ID.fullmatch(document_id):
            return self.error_response(
                400,
                "documentId must be sha256: followed by 64 lowercase hexadecimal digits.",
                code="BAD_REQUEST",
            )
        prepared = documents.trusted_document(document_id)
        if prepared is None:
            return self.error_response(
                404,
                f"No registered document has the id {document_id[:80]!r}.",
                code="PERSISTED_DOCUMENT_NOT_FOUND",
            )
        request.trusted_document = prepared
        return None

    @staticmethod
    def response_cache_key(request) -> str | None:
        try:
            variables = json.loads(request.GET.get("variables") or "null")
        except (ValueError, RecursionError):
            return None  # strawberry answers it
        return caching.response_cache_key(
            request.trusted_document.document_id, request.GET.get("operationName"), variables
        )

    def create_response(self, response_data, sub_response):
        # What the caching headers need to know: an answer, with or without errors.
        self.request.graphql_answered = True
        self.request.graphql_errors = bool(response_data.get("errors"))
        return super().create_response(response_data, sub_response)

    @staticmethod
    def error_response(status: int, message: str, code: str | None = None) -> HttpResponse:
        return errors.error_response(status, message, code)

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = json.loads(data)
        except RecursionError:
            raise HTTPException(400, "JSON is nested too deeply.") from None
        except json.JSONDecodeError:
            raise  # strawberry answers it
        except ValueError:
            # A number of more digits than Python converts (4,300).
            raise HTTPException(400, "JSON numbers have at most 4300 digits.") from None
        if not isinstance(value, dict):
            # Covers bodies that are strings, numbers, null, and batches (lists).
            raise HTTPException(400, "Expected a JSON object.")
        return value

    def parse_http_body(self, request):
        data = super().parse_http_body(request)
        trusted = getattr(self.request, "trusted_document", None)
        if trusted is not None:
            if data.query is not None:
                raise HTTPException(400, "Send either documentId or query, not both.")
            # Parsed already (TrustedDocumentParse); the text is not read again.
            data.query = trusted.document_id
        elif data.query is not None and len(data.query) > settings.GRAPHQL_MAX_QUERY_CHARS:
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
    """Aliases must not batch quiz submissions, nor attempt starts: at most one of each
    per document."""

    def __init__(self, context):
        super().__init__(context)
        self.seen = dict.fromkeys(ONCE_PER_OPERATION, 0)

    def enter_field(self, node, *_args):
        name = node.name.value
        if name in self.seen:
            self.seen[name] += 1
            if self.seen[name] == 2:
                self.report_error(
                    GraphQLError(
                        f"At most one {name} per request.",
                        node,
                        extensions={"code": "BAD_USER_INPUT"},
                    )
                )


class _DocumentShape:
    """Depth and alias count of selection sets, fragments expanded, each walked once.

    Strawberry's depth and alias limiters expand every fragment spread again, so a
    document whose fragments spread each other ten times over takes seconds to validate
    before any limit applies; memoised per selection set, the walk is linear.
    """

    def __init__(self, document: DocumentNode):
        self.fragments = {
            definition.name.value: definition.selection_set
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.depths: dict[int, int] = {}
        self.aliases: dict[int, int] = {}
        self.schema_fields: dict[int, int] = {}

    def _children(self, selection_set: SelectionSetNode):
        """(field, selection set below it or None) for every field, through fragments."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, selection.selection_set
            elif isinstance(selection, InlineFragmentNode):
                yield None, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                yield None, self.fragments.get(selection.name.value)

    def depth(self, selection_set: SelectionSetNode) -> int:
        key = id(selection_set)
        if key not in self.depths:
            self.depths[key] = 0  # a fragment cycle (reported by its own rule) ends here
            deepest = 0
            for field, below in self._children(selection_set):
                if below is None or (field is not None and field.name.value.startswith("__")):
                    continue
                deepest = max(deepest, self.depth(below) + (field is not None))
            self.depths[key] = deepest
        return self.depths[key]

    def alias_count(self, selection_set: SelectionSetNode) -> int:
        key = id(selection_set)
        if key not in self.aliases:
            self.aliases[key] = 0
            self.aliases[key] = sum(
                (field is not None and field.alias is not None)
                + (0 if below is None else self.alias_count(below))
                for field, below in self._children(selection_set)
            )
        return self.aliases[key]

    def schema_field_count(self, selection_set: SelectionSetNode) -> int:
        """How many times __schema is asked for, through fragments and aliases."""
        key = id(selection_set)
        if key not in self.schema_fields:
            self.schema_fields[key] = 0
            self.schema_fields[key] = sum(
                (field is not None and field.name.value == "__schema")
                + (0 if below is None else self.schema_field_count(below))
                for field, below in self._children(selection_set)
            )
        return self.schema_fields[key]


class OperationShapeLimits(ValidationRule):
    """GRAPHQL_MAX_DEPTH and GRAPHQL_MAX_ALIASES per operation, in linear time; __schema
    at most once (what it returns is bounded by the schema, so the cost counts it once)."""

    def enter_document(self, node: DocumentNode, *_args):
        shape = _DocumentShape(node)
        for definition in node.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            name = definition.name.value if definition.name else "anonymous"
            if shape.depth(definition.selection_set) > settings.GRAPHQL_MAX_DEPTH:
                self.report_error(
                    GraphQLError(
                        f"'{name}' exceeds maximum operation depth of {settings.GRAPHQL_MAX_DEPTH}",
                        definition,
                    )
                )
            if shape.schema_field_count(definition.selection_set) > 1:
                self.report_error(
                    GraphQLError("An operation may ask for __schema once.", definition)
                )
            aliases = shape.alias_count(definition.selection_set)
            if aliases > settings.GRAPHQL_MAX_ALIASES:
                self.report_error(
                    GraphQLError(
                        f"{aliases} aliases found. Allowed: {settings.GRAPHQL_MAX_ALIASES}",
                        definition,
                    )
                )


# Longer than any Int or Float the schema takes: Python would refuse to convert past
# 4,300 digits, in the middle of execution.
MAX_NUMBER_LITERAL = 40


class NoOversizedNumberLiterals(ValidationRule):
    def enter_int_value(self, node, *_args):
        self._check(node)

    def enter_float_value(self, node, *_args):
        self._check(node)

    def _check(self, node):
        if len(node.value) > MAX_NUMBER_LITERAL:
            self.report_error(
                GraphQLError(
                    f"Number literals have at most {MAX_NUMBER_LITERAL} characters.",
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

    The same classes every time: validation results are cached per document and rules,
    so a fresh class would never hit the cache.
    """
    rules = [
        OperationShapeLimits,
        OneSubmissionPerOperation,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def suggestions_hidden() -> bool:
    """ "Did you mean" names fields, arguments, input fields, enum values and types a
    caller did not ask for; where introspection is off they would reveal the schema."""
    return not settings.GRAPHQL_INTROSPECTION


# Checked before GraphQL's own rules, which convert literals as they go: an integer of
# thousands of digits would stop them with an exception instead of an error.
LITERAL_RULES = (NoOversizedNumberLiterals, NoUnsafeTextInLiterals)


def validate_document(schema, document, rules, hide_suggestions: bool) -> list[GraphQLError]:
    """The errors of `document` under the literal rules, `rules` and strawberry's own."""
    errors = validate(schema, document, LITERAL_RULES)
    if errors:
        return errors
    # Strawberry's own rules, as its validate_document adds them.
    rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


_validate = lru_cache(maxsize=128)(validate_document)


def current_rules() -> tuple:
    """The validation rules of a request now: graphql-core's, then the project's."""
    return (*specified_rules, *validation_rules(settings.GRAPHQL_INTROSPECTION))


class CachedValidation(SchemaExtension):
    """Validation with results cached per document (128 of them), without suggestions
    where they are hidden.

    Strawberry's ValidationCache does the caching but cannot pass graphql-core's
    `hide_suggestions`, and its `disable_field_suggestions` only edits the messages of
    unknown fields.
    """

    def on_validate(self):
        context = self.execution_context
        arguments = (tuple(context.validation_rules), suggestions_hidden())
        trusted = trusted_document_of(context)
        if trusted is not None:
            # A registered document: validated once per process and set of rules.
            errors = trusted.validation.get(arguments)
            if errors is None:
                errors = trusted.validation[arguments] = validate_document(
                    context.schema._schema, context.graphql_document, *arguments
                )
            context.pre_execution_errors = errors
        else:
            context.pre_execution_errors = _validate(
                context.schema._schema, context.graphql_document, *arguments
            )
        yield


def may_send_text(request) -> bool:
    """Staff sessions, API token users and preview callers may send documents as text
    where anonymous callers are limited to trusted documents."""
    user = getattr(request, "user", None)
    return bool(user is not None and (user.is_authenticated or getattr(user, "preview", None)))


def trusted_document_of(execution_context):
    """The registered document a request runs (glossary_backend.documents), or None."""
    request = getattr(execution_context.context, "request", None)
    return getattr(request, "trusted_document", None)


class TrustedDocumentParse(SchemaExtension):
    """A registered document is parsed once per process: its parsed form is used as is."""

    def on_parse(self):
        trusted = trusted_document_of(self.execution_context)
        if trusted is not None:
            self.execution_context.graphql_document = trusted.document
        yield


class ExecutionContext(
    caching.SurrogateKeys, columns.ColumnExecution, StrawberryGraphQLCoreExecutionContext
):
    """Coerces variables (input fields, enum values) without suggestions where hidden;
    reads column fields in place (glossary_backend.columns); collects the surrogate keys
    of what it returns (glossary_backend.caching)."""

    @classmethod
    def build(cls, *args, hide_suggestions: bool = False, **kwargs):
        hide_suggestions = hide_suggestions or suggestions_hidden()
        return super().build(*args, hide_suggestions=hide_suggestions, **kwargs)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_awaitable = awaitable_by_type(self.is_awaitable)


def awaitable_by_type(is_awaitable):
    """`is_awaitable`, asked once per type of value instead of once per value.

    graphql-core asks it of every resolved and completed value (30,000 times for a page
    of 50 chapters of 100 terms), and for a model instance strawberry's check runs an
    ABC isinstance and a hasattr. Whether a value is awaitable is a property of its type
    but for generators (a generator-based coroutine is one by a flag of its code), which
    are asked each time."""
    known: dict[type, bool] = {}

    def check(value) -> bool:
        kind = type(value)
        answer = known.get(kind)
        if answer is None:
            answer = is_awaitable(value)
            if kind is not GeneratorType:
                known[kind] = answer
        return answer

    return check


def operation_limits() -> list:
    """Schema extension factories (a fresh instance per request) for the limits above.

    Frontends send the same few documents over and over: their validation results are
    kept in a bounded LRU cache. Parsing is not cached: strawberry's ParserCache raises
    parse errors outside the path that gives them their code.
    """
    return [
        TrustedDocumentParse,
        partial(MaxTokensLimiter, max_token_count=settings.GRAPHQL_MAX_TOKENS),
        lambda: AddValidationRules(list(validation_rules(settings.GRAPHQL_INTROSPECTION))),
        CachedValidation,
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
        if error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
            # A variable's value that its type refuses (a bad date, an unknown enum value).
            error.extensions["argument"] = error.nodes[0].variable.name.value
            return "BAD_USER_INPUT"
        if isinstance(error, GraphQLSyntaxError):
            return "GRAPHQL_PARSE_FAILED"
        if error.path is None:
            return "GRAPHQL_VALIDATION_FAILED"
        return "BAD_USER_INPUT"
