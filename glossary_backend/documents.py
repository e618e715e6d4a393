"""Trusted documents: GraphQL operations that frontends register ahead of time and call
by id (the GraphQL-over-HTTP spec's persisted documents appendix).

- `manifest_entries()` reads the two formats frontend tool chains write: Relay's
  persisted-query map (`{"<sha256 hex>": "<text>"}`, relay-compiler with `persistConfig`
  algorithm SHA256) and Apollo's persisted-query manifest (`{"format":
  "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "name", "type",
  "body"}]}`).
- `documents_register()` checks every document first (its id is the SHA-256 of its
  text; it parses within the token limit and validates against the schema with every
  rule a request meets) and registers all of them or none.
- `trusted_document()` is what a request runs: parsed once per process, its validation
  and its costs (per variables) remembered on it (glossary_backend.security,
  glossary_backend.cost). A removed document stops working at once in the process that
  removed it and within RECHECK_SECONDS in the others.
"""

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse

from glossary_backend.models import DOCUMENT_ID_PATTERN, TrustedDocument

DOCUMENT_ID = re.compile(DOCUMENT_ID_PATTERN)
APOLLO_FORMAT = "apollo-persisted-query-manifest"
RECHECK_SECONDS = 60


def document_id_of(text: str) -> str:
    """The id of a document: "sha256:" and the SHA-256 of its UTF-8 text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ManifestEntry:
    document_id: str  # as the manifest gives it, with "sha256:" added when missing
    text: str
    name: str = ""


def manifest_entries(data: object) -> list[ManifestEntry]:
    """The documents of a Relay persisted-query map or an Apollo persisted-query
    manifest (decoded JSON); ValueError when it is neither."""
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        if data.get("version") != 1:
            raise ValueError(f"Only version 1 of the {APOLLO_FORMAT} format is known.")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ValueError("An Apollo manifest has a list of operations.")
        entries = []
        for number, operation in enumerate(operations, start=1):
            if not (
                isinstance(operation, dict)
                and isinstance(operation.get("id"), str)
                and isinstance(operation.get("body"), str)
            ):
                raise ValueError(f"Operation {number}: expected an object with id and body.")
            entries.append(
                ManifestEntry(
                    _prefixed(operation["id"]), operation["body"], str(operation.get("name", ""))
                )
            )
        return entries
    if isinstance(data, dict) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        return [ManifestEntry(_prefixed(key), text) for key, text in data.items()]
    raise ValueError(
        "Expected a Relay persisted-query map ({id: text}) or an Apollo persisted-query "
        f'manifest ({{"format": "{APOLLO_FORMAT}", ...}}).'
    )


def _prefixed(document_id: str) -> str:
    return document_id if document_id.startswith("sha256:") else f"sha256:{document_id}"


def document_problems(text: str) -> tuple[str, list[str]]:
    """(operation name, problems) of a document as every request would meet it: the
    query length and token limits, then the schema's validation rules."""
    from glossary_backend.schema import schema  # the schema composes the apps

    if len(text) > settings.GRAPHQL_MAX_QUERY_CHARS:
        return "", [f"longer than {settings.GRAPHQL_MAX_QUERY_CHARS} characters"]
    try:
        document = parse(text, max_tokens=settings.GRAPHQL_MAX_TOKENS)
    except GraphQLError as error:
        return "", [error.message]
    from glossary_backend.security import current_rules, suggestions_hidden, validate_document

    errors = validate_document(schema._schema, document, current_rules(), suggestions_hidden())
    names = [
        definition.name.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name
    ]
    return ", ".join(names), [error.message for error in errors]


@dataclass
class RegisterReport:
    registered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def documents_register(*, entries: list[ManifestEntry]) -> RegisterReport:
    """Register every entry, or none: each id must be the SHA-256 of its text, each text
    must pass the request limits and validation. Documents already registered are left
    as they are. The report lists ids registered and unchanged, or every problem."""
    report = RegisterReport()
    new: dict[str, TrustedDocument] = {}
    for entry in entries:
        label = entry.name or entry.document_id
        if not DOCUMENT_ID.fullmatch(entry.document_id):
            report.errors.append(f"{label}: the id is not sha256:<64 lowercase hex digits>.")
            continue
        if document_id_of(entry.text) != entry.document_id:
            report.errors.append(
                f"{label}: {entry.document_id} is not the SHA-256 of its text (Relay: set "
                'persistConfig\'s algorithm to "SHA256").'
            )
            continue
        name, problems = document_problems(entry.text)
        if problems:
            label = entry.name or name or entry.document_id
            report.errors.append(f"{label}: {'; '.join(problems)}")
            continue
        new[entry.document_id] = TrustedDocument(
            document_id=entry.document_id, text=entry.text, name=entry.name or name
        )
    if report.errors:
        return report
    with transaction.atomic():
        existing = set(
            TrustedDocument.objects.filter(document_id__in=new).values_list(
                "document_id", flat=True
            )
        )
        TrustedDocument.objects.bulk_create(
            document for document_id, document in new.items() if document_id not in existing
        )
    report.registered = [document_id for document_id in new if document_id not in existing]
    report.unchanged = [document_id for document_id in new if document_id in existing]
    return report


def documents_remove(*, document_ids: list[str]) -> list[str]:
    """Unregister documents; returns the ids that were not registered (then nothing is
    removed)."""
    with transaction.atomic():
        found = set(
            TrustedDocument.objects.filter(document_id__in=document_ids).values_list(
                "document_id", flat=True
            )
        )
        unknown = [document_id for document_id in document_ids if document_id not in found]
        if unknown:
            return unknown
        TrustedDocument.objects.filter(document_id__in=document_ids).delete()
    for document_id in document_ids:
        _prepared.pop(document_id, None)
    return []


@dataclass
class PreparedDocument:
    """A registered document as requests run it: parsed once; validation errors per set
    of rules, costs per operation name and variables, and the optimizer's plans of its
    fields for public callers (glossary_backend.plans), remembered when first computed."""

    document_id: str
    document: DocumentNode
    checked_at: float
    validation: dict = field(default_factory=dict)
    costs: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)


_prepared: dict[str, PreparedDocument] = {}
_lock = threading.Lock()


def trusted_document(document_id: str) -> PreparedDocument | None:
    """The registered document of `document_id`, ready to run; None when there is none."""
    prepared = _prepared.get(document_id)
    now = time.monotonic()
    if prepared is not None and now - prepared.checked_at < RECHECK_SECONDS:
        return prepared
    if prepared is not None:
        if not TrustedDocument.objects.filter(document_id=document_id).exists():
            _prepared.pop(document_id, None)
            return None
        prepared.checked_at = now
        return prepared
    text = (
        TrustedDocument.objects.filter(document_id=document_id)
        .values_list("text", flat=True)
        .first()
    )
    if text is None:
        return None
    with _lock:
        prepared = _prepared.get(document_id)
        if prepared is None:
            prepared = PreparedDocument(document_id, parse(text), now)
            _prepared[document_id] = prepared
    return prepared


def read_manifest(path) -> list[ManifestEntry]:
    """The entries of a manifest file; ValueError for unreadable or unknown content."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    return manifest_entries(data)
