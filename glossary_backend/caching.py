"""HTTP caching of GraphQL answers: headers, surrogate keys and the origin's response cache.

- Who may share an answer (`audience`): an anonymous caller's answer is public; one that
  depends on a session, a preview token, an `Authorization` header or a staff
  permission is `private, no-store`; errors, mutations and POSTs are `no-store`.
- What an answer contains (`SurrogateKeys`, the execution context's mixin): the key of
  every chapter, term and quiz it returns (`Publishable.surrogate_key`, "term:15") and
  the list key of every list, page or count of them it returns
  (`list_surrogate_key()`, "terms"), including fields derived from a list (a chapter's
  `termCount`, a definition's links, which depend on which terms are visible). Sent as
  `Surrogate-Key` (Fastly) and `Cache-Tag` (Cloudflare) so a CDN purges by key.
- The response cache: anonymous GET answers of trusted documents, keyed by document,
  operation name, variables and audience, in Django's cache (CACHES["default"]). Each
  surrogate key has a generation in the cache; an entry is served only while the
  generations of all its keys are those it was stored with. `invalidate_surrogate_keys`
  gives keys new generations. The keys a change affects are written once, by the
  outbox (terms.outbox): when a transaction that wrote change events commits, the keys
  of its events are invalidated at once (`events_committed`), and the delivery relay
  purges the CDN with the same keys. A write that makes no event (a draft's edit) shows
  the public nothing new. An entry is kept at most GRAPHQL_RESPONSE_CACHE_SECONDS and
  never past the next scheduled go-live or expiry time (those change visibility with no
  write; the worker's sweep records their events only later).
"""

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from graphql import get_named_type

from glossary_backend.inputs import canonical_json
from glossary_backend.preview import HEADER as PREVIEW_HEADER
from quizzes.models import Choice, Question, Quiz
from terms.models import Chapter, Publishable, Term

PUBLIC = "public"
PRIVATE = "private"

# Lists (plain, connections and their edges) whose items are of a model's type.
_LIST_TYPES = {
    Chapter: ("Chapter", "ChapterConnection", "ChapterEdge"),
    Term: ("Term", "TermConnection", "TermEdge", "SearchHit", "SearchHitEdge",
           "SearchResultConnection"),
    Quiz: ("Quiz", "QuizConnection", "QuizEdge"),
}  # fmt: skip
# Fields whose value depends on which objects of a model are visible, beyond the
# objects they return: counts, indexes, links found in text, neighbours.
_DERIVED_FIELDS = {
    Term: {
        "Query": ("letters", "search", "searchResults"),
        "Chapter": ("termCount", "letters", "jsonLd"),
        "Term": (
            "definitionHtml",
            "explanationHtml",
            "definitionSegments",
            "previous",
            "next",
            "jsonLd",
        ),
    },
}
# Fields that show data of an object they do not return (a term's JSON-LD names its
# chapter): type -> field -> the foreign key to that object, whose key the answer names.
RELATED_KEYS = {"Term": {"jsonLd": "chapter"}}
LIST_KEYS = {
    type_name: model.list_surrogate_key()
    for model, type_names in _LIST_TYPES.items()
    for type_name in type_names
}
CONNECTION_KEYS = {name: key for name, key in LIST_KEYS.items() if name.endswith("Connection")}
DERIVED_KEYS: dict[str, dict[str, str]] = {}
for _model, _fields in _DERIVED_FIELDS.items():
    for _type_name, _names in _fields.items():
        DERIVED_KEYS.setdefault(_type_name, {}).update(
            dict.fromkeys(_names, _model.list_surrogate_key())
        )


# An object field that answers null (hidden, unknown, not yet published) names the list
# key of its type: publishing an object of the model purges it, so the null goes too.
# The Node interface may stand for any of them.
NULL_KEYS = {
    type_names[0]: [model.list_surrogate_key()] for model, type_names in _LIST_TYPES.items()
} | {"Node": [model.list_surrogate_key() for model in _LIST_TYPES]}
# Root fields whose answers are never cached: the changes feed must show an event the
# moment it commits, and its readers are a few build jobs, not page views.
UNCACHEABLE_ROOT_FIELDS = {"changes"}
UNCACHEABLE = "no-store"

# "term" -> "terms": the list key that every change of an object of the model also purges.
_LIST_KEY_OF_KIND = {
    model._meta.model_name: model.list_surrogate_key() for model in (Chapter, Term, Quiz)
}
# Objects an answer names by their `surrogate_key`: published content, and the parts of a
# quiz, which name their quiz.
KEYED_OBJECTS = (Publishable, Question, Choice)
# Fastly and Cloudflare take about 16 KB of keys per response.
MAX_KEYS_HEADER = 16_000


def compact_keys(keys: Iterable[str]) -> set[str]:
    """`keys` without the object keys that a list key in them already covers: every
    change event of an object names its model's list key too (terms.outbox), so
    "terms" alone invalidates whatever "term:15" would. (An event also names other
    objects' keys, such as the changed term's chapter: an answer holding those shows
    the changed object only through it, and then names its key or its list key.)"""
    keys = set(keys)
    return {
        key
        for key in keys
        if _LIST_KEY_OF_KIND.get(key.partition(":")[0]) not in keys or ":" not in key
    }


class SurrogateKeys:
    """Execution context mixin: collects the surrogate keys of what execution returns
    into `request.surrogate_keys` when the view asked for them (a set). It runs once per
    object (execute_fields) and once per list, not per field value; what a selection's
    fields add is worked out once per selection (`_SelectionKeys`)."""

    surrogate_keys: set | None = None

    @classmethod
    def build(cls, *args, **kwargs):
        context = super().build(*args, **kwargs)
        if isinstance(context, SurrogateKeys):
            request = getattr(context.context_value, "request", None)
            context.surrogate_keys = getattr(request, "surrogate_keys", None)
            context.selection_keys = {}
        return context

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, *args):
        keys = self.surrogate_keys
        if keys is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, *args)
        selection = self._add_object_keys(
            keys, parent_type, grouped_field_set, source_value, root=path is None
        )
        results = super().execute_fields(parent_type, source_value, path, grouped_field_set, *args)
        # Sync execution answers a dict; a field that answered null names its type's keys.
        if selection.null_keys and type(results) is dict and None in results.values():
            for response_name, value in results.items():
                if value is None:
                    keys.update(selection.null_keys.get(response_name, ()))
        return results

    def note_object(self, object_type, grouped_field_set, source) -> None:
        """An object completed without execute_fields (glossary_backend.columns): the
        same keys, from the same rules."""
        keys = self.surrogate_keys
        if keys is not None:
            self._add_object_keys(keys, object_type, grouped_field_set, source, root=False)
        super().note_object(object_type, grouped_field_set, source)

    def _add_object_keys(self, keys, parent_type, grouped_field_set, source_value, *, root):
        # graphql-core keeps each grouped field set alive for the whole execution (its
        # collect_subfields memo), and so does this cache: an id stays its own.
        selection = self.selection_keys.get(id(grouped_field_set))
        if selection is None:
            selection = _SelectionKeys(parent_type, grouped_field_set, root=root)
            self.selection_keys[id(grouped_field_set)] = selection
        if isinstance(source_value, KEYED_OBJECTS):
            keys.add(source_value.surrogate_key)
        if selection.constant:
            keys.update(selection.constant)
        for foreign_key in selection.foreign_keys:
            if source_value is not None:
                keys.add(_related_key(source_value, foreign_key))
        return selection

    def complete_list_value(self, return_type, *args):
        self.note_list(return_type)
        return super().complete_list_value(return_type, *args)

    def note_list(self, list_type) -> None:
        if self.surrogate_keys is not None:
            key = LIST_KEYS.get(get_named_type(list_type).name)
            if key:
                self.surrogate_keys.add(key)


class _SelectionKeys:
    """What the fields of one selection on one object type add to an answer's keys."""

    def __init__(self, object_type, grouped_field_set, *, root: bool):
        self.grouped_field_set = grouped_field_set  # kept alive: see _add_object_keys
        type_name = object_type.name
        derived = DERIVED_KEYS.get(type_name, {})
        related = RELATED_KEYS.get(type_name, {})
        constant = {CONNECTION_KEYS[type_name]} if type_name in CONNECTION_KEYS else set()
        foreign_keys = []
        # response name -> the keys that name its null answer
        self.null_keys = {}
        for response_name, details in grouped_field_set.items():
            field_name = details[0].node.name.value
            if root and field_name in UNCACHEABLE_ROOT_FIELDS:
                constant.add(UNCACHEABLE)
            if field_name in derived:
                constant.add(derived[field_name])
            if field_name in related:
                foreign_keys.append(related[field_name])
            field = object_type.fields.get(field_name)
            named = field and get_named_type(field.type).name
            if named in NULL_KEYS:
                self.null_keys[response_name] = NULL_KEYS[named]
        self.constant = frozenset(constant)
        self.foreign_keys = tuple(foreign_keys)


def _related_key(obj, foreign_key: str) -> str:
    model_field = type(obj)._meta.get_field(foreign_key)
    return model_field.related_model.surrogate_key_of(getattr(obj, model_field.attname))


def audience(request) -> str:
    """PUBLIC when the answer depends on nothing of the caller, else PRIVATE."""
    if request.headers.get("Authorization") is not None:
        return PRIVATE
    if request.headers.get(PREVIEW_HEADER) is not None:
        return PRIVATE
    user = getattr(request, "user", None)
    if user is not None and (user.is_authenticated or getattr(user, "preview", None)):
        return PRIVATE
    return PUBLIC


# What a public answer would change with: the caller's session, token or preview.
PUBLIC_VARY = ("Cookie", "Authorization", PREVIEW_HEADER)


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def apply_public_headers(response, keys: Iterable[str], etag: str | None = None) -> None:
    """Cache-Control, ETag (`etag`, else computed from the body), Vary and surrogate keys
    of a public GET answer."""
    response["Cache-Control"] = (
        f"public, max-age={settings.GRAPHQL_CACHE_MAX_AGE}, "
        f"stale-while-revalidate={settings.GRAPHQL_CACHE_STALE_WHILE_REVALIDATE}"
    )
    response["ETag"] = etag or entity_tag(response.content)
    names = " ".join(sorted(keys))
    if len(names) > MAX_KEYS_HEADER:
        names = " ".join(sorted(compact_keys(keys)))
    if names:
        response["Surrogate-Key"] = names
        response["Cache-Tag"] = names.replace(" ", ",")
    patch_vary_headers(response, PUBLIC_VARY)


def apply_private_headers(response) -> None:
    response["Cache-Control"] = "private, no-store"
    patch_vary_headers(response, PUBLIC_VARY)


def apply_no_store(response) -> None:
    response["Cache-Control"] = "no-store"


def not_modified(request, response) -> bool:
    """Whether the caller's If-None-Match names the answer's ETag."""
    header = request.headers.get("If-None-Match")
    if not header or not response.has_header("ETag"):
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or response["ETag"] in tags


# The response cache.

_GENERATION = "sk:"
_EPOCH = "sk-epoch"
_ENTRY = "response:"


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes
    content_type: str
    etag: str
    sent_keys: tuple[str, ...]  # as the first answer named them
    keys: tuple[str, ...]  # compacted: those whose generations are checked
    generations: tuple


def response_cache_key(document_id: str, operation_name, variables) -> str:
    text = canonical_json([document_id, operation_name, variables, PUBLIC])
    return _ENTRY + hashlib.sha256(text.encode()).hexdigest()


def cached_answer(key: str) -> tuple[CachedAnswer | None, object]:
    """(the entry under `key` if every one of its keys still has its generation, the
    current invalidation epoch to pass to `store_answer`)."""
    if settings.GRAPHQL_RESPONSE_CACHE_SECONDS <= 0:
        return None, None
    found = cache.get_many([key, _EPOCH])
    entry, epoch = found.get(key), found.get(_EPOCH)
    if entry is None:
        return None, epoch
    names = [_GENERATION + name for name in entry.keys]
    current = cache.get_many(names)
    if tuple(current.get(name) for name in names) != entry.generations:
        return None, epoch
    return entry, epoch


def store_answer(key: str, response, keys: Iterable[str], epoch) -> None:
    """Keep a public answer, unless content changed since `epoch` was read (then the
    answer may predate the change)."""
    if settings.GRAPHQL_RESPONSE_CACHE_SECONDS <= 0:
        return
    sent_keys = tuple(keys)
    keys = tuple(sorted(compact_keys(keys)))
    names = [_GENERATION + name for name in keys]
    current = cache.get_many([*names, _EPOCH])
    if current.get(_EPOCH) != epoch:
        return
    missing = [name for name in names if name not in current]
    for name in missing:
        cache.add(name, uuid.uuid4().hex, timeout=None)
    if missing:
        current.update(cache.get_many(missing))
    timeout = min(settings.GRAPHQL_RESPONSE_CACHE_SECONDS, seconds_to_next_schedule_change())
    if timeout <= 0:
        return
    entry = CachedAnswer(
        body=response.content,
        content_type=response["Content-Type"],
        etag=response["ETag"],
        sent_keys=sent_keys,
        keys=keys,
        generations=tuple(current.get(name) for name in names),
    )
    cache.set(key, entry, timeout=timeout)


def seconds_to_next_schedule_change() -> float:
    """Seconds until some content goes live or expires by its schedule (visibility
    changes then with no write to invalidate anything); a day when nothing is due."""
    soonest = None
    for model in (Chapter, Term, Quiz):
        moments = model._base_manager.aggregate(
            live=Min("go_live_at", filter=Q(go_live_at__gt=Now())),
            expire=Min("expire_at", filter=Q(expire_at__gt=Now())),
        )
        for moment in moments.values():
            if moment is not None and (soonest is None or moment < soonest):
                soonest = moment
    if soonest is None:
        return 24 * 3600
    return (soonest - timezone.now()).total_seconds()


def invalidate_surrogate_keys(keys: Iterable[str]) -> None:
    """Every cached answer holding one of `keys` ("term:15", "terms") stops being
    served. Call it after the change is committed (see `events_committed`)."""
    token = uuid.uuid4().hex
    values = {_GENERATION + key: token for key in keys}
    if values:
        cache.set_many({**values, _EPOCH: token}, timeout=None)


def events_committed(events) -> None:
    """The outbox's listener (terms.outbox.committed_listener_register): a committed
    transaction's change events name every key their changes affect, the same keys the
    CDN is purged with."""
    invalidate_surrogate_keys({key for event in events for key in event.surrogate_keys})
