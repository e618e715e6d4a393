"""Revisions of editorial content, stored with django-reversion.

A chapter, term or quiz ("content") is recorded with the rows that belong to it (a
term's outgoing see-also links; a quiz's questions and their choices): one version per
content object in a revision that says who, when and by which path.

Writes run inside `recording(path, user=...)`. Saves and deletes of registered rows and
see-also changes mark their content object as touched (the receivers below, connected
once by `register_content`); when the outermost block ends, each touched object that
still exists is stored in its final state, unless that state equals its last recorded
one (no empty revisions). Saves outside any block, in a shell for instance, are recorded
with the path OUTSIDE_SERVICES when their transaction commits: nothing changes
unrecorded.
"""

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import reversion
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from reversion.models import Version

ADMIN_FORM = "admin form"
ADMIN_LIST = "admin list"
ADMIN_DELETE = "admin delete"
IMPORT = "import"
OUTSIDE_SERVICES = "save() outside the services"

# Bookkeeping fields: they change on every save or follow from others, so they are
# neither compared, shown in a diff nor restored.
UNCOMPARED_FIELDS = {"id", "created_at", "updated_at", "created_by", "updated_by", "published_at"}


def bulk_action_path(description: str) -> str:
    return f"bulk action “{description}”"


def command_path(name: str) -> str:
    return f"command {name}"


def service_path(name: str) -> str:
    return f"service {name}()"


@dataclass(frozen=True)
class Part:
    """Rows recorded with a content object: `model` rows whose `parent` foreign key points
    to the content object or to another part."""

    model: type[models.Model]
    parent: str


@dataclass
class State:
    """A content object's fields and its parts' rows, as recorded (or as they would be)."""

    version: Version
    parts: dict[type[models.Model], list[Version]] = field(default_factory=dict)

    def rows(self, model) -> list[models.Model]:
        return [version._object_version.object for version in self.parts.get(model, [])]


@dataclass(frozen=True)
class Content:
    model: type[models.Model]
    parts: tuple[Part, ...]
    # Extra lines of a diff ("See also", "Question 3"), from a state's parts.
    describe_parts: Callable[[State], dict[str, str]]
    # Makes the object's parts those of a state; raises ValidationError when it cannot.
    restore_parts: Callable[[models.Model, State], None]


_contents: dict[type[models.Model], Content] = {}
# Row model -> function giving the (content model, pk) pairs a change of the row touches.
_owners: dict[type[models.Model], Callable[[models.Model], Iterable[tuple]]] = {}
_touched: ContextVar[dict | None] = ContextVar("touched_content", default=None)


def register_content(content: Content, owners: dict) -> None:
    """Record `content.model` with its parts; `owners` maps each row model (the content
    model and its parts) to what a change of one of its rows touches."""
    follow = {content.model: [], **{part.model: [] for part in content.parts}}
    for part in content.parts:
        parent_field = part.model._meta.get_field(part.parent)
        follow[parent_field.related_model].append(parent_field.remote_field.get_accessor_name())
    for model, names in follow.items():
        if not reversion.is_registered(model):
            reversion.register(model, follow=names)
    _contents[content.model] = content
    for model, owner in owners.items():
        _owners[model] = owner
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"revisions-{model}")
        post_delete.connect(_row_changed, sender=model, dispatch_uid=f"revisions-del-{model}")
        for m2m in model._meta.local_many_to_many:
            m2m_changed.connect(
                _links_changed, sender=m2m.remote_field.through, dispatch_uid=f"revisions-{m2m}"
            )


def content_models() -> list[type[models.Model]]:
    return list(_contents)


def _row_changed(sender, instance, **kwargs):
    touch_keys(_owners[sender](instance))


def _links_changed(sender, instance, action, model, pk_set, **kwargs):
    """Links added or removed through a many-to-many manager (bulk writes send no
    post_save): both ends change. Cleared links arrive as row deletes."""
    if action in {"post_add", "post_remove"}:
        touch_keys([(type(instance), instance.pk), *((model, pk) for pk in pk_set or ())])


def touch(*objects: models.Model) -> None:
    """Mark content objects as changed: recorded when the outermost `recording` ends."""
    touch_keys((type(obj), obj.pk) for obj in objects)


def touch_keys(keys: Iterable[tuple]) -> None:
    keys = [(model, pk) for model, pk in keys if pk is not None]
    touched = _touched.get()
    if touched is None:
        _record_on_commit(keys)
        return
    for key in keys:
        touched[key] = True


class _RecordOutsideServices:
    """Records what saves outside any `recording` block touched, once their transaction
    commits (at once in autocommit, as in a shell): one revision per transaction."""

    def __init__(self):
        self.keys: dict = {}

    def __call__(self):
        with recording(OUTSIDE_SERVICES):
            touch_keys(self.keys)


def _record_on_commit(keys) -> None:
    if not keys:
        return
    connection = transaction.get_connection()
    savepoints = set(connection.savepoint_ids)
    if connection.in_atomic_block:
        # Joins the pending record of the same savepoint level: rolled back with it.
        for sids, callback, _robust in connection.run_on_commit:
            if isinstance(callback, _RecordOutsideServices) and sids == savepoints:
                callback.keys.update(dict.fromkeys(keys, True))
                return
    callback = _RecordOutsideServices()
    callback.keys.update(dict.fromkeys(keys, True))
    transaction.on_commit(callback)


@contextmanager
def recording(path: str, *, user=None):
    """Run writes whose changes become one revision named `path`, by `user` when known.
    Nested blocks join the outermost one, whose path and user win."""
    if _touched.get() is not None:
        with transaction.atomic():
            yield
        return
    touched: dict = {}
    token = _touched.set(touched)
    try:
        with reversion.create_revision(manage_manually=True):
            reversion.set_comment(path)
            if user is not None and getattr(user, "is_authenticated", False):
                reversion.set_user(user)
            yield
            # In the order first touched; deleted objects have nothing left to record.
            for model, pk in list(touched):
                obj = model._base_manager.filter(pk=pk).first()
                if obj is not None:
                    _record(obj)
    finally:
        _touched.reset(token)


def _record(obj) -> None:
    last = latest_version(obj)
    if last is not None and describe(state_of(last)) == describe(current_state(obj)):
        return
    reversion.add_to_revision(obj)


def latest_version(obj) -> Version | None:
    return Version.objects.get_for_object(obj).select_related("revision").first()


def latest_version_id(obj) -> int:
    """The id of the last recorded version of `obj`; 0 when none was recorded."""
    if obj.pk is None:
        return 0
    return Version.objects.get_for_object(obj).values_list("pk", flat=True).first() or 0


def _unsaved_version(obj) -> Version:
    return Version(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        format="json",
        serialized_data=serializers.serialize("json", [obj]),
        object_repr=str(obj),
    )


def current_state(obj) -> State:
    """The state `obj` and its parts are in now, as a recording would store it (through
    the same serialization, so that it compares equal to a recorded one)."""
    state = State(version=_unsaved_version(obj))
    parents = {type(obj): [obj.pk]}
    for part in _contents[type(obj)].parts:
        parent_model = part.model._meta.get_field(part.parent).related_model
        rows = part.model._base_manager.filter(
            **{f"{part.parent}__in": parents.get(parent_model, [])}
        )
        state.parts[part.model] = [_unsaved_version(row) for row in rows]
        parents[part.model] = [row.pk for row in rows]
    return state


def state_of(version: Version) -> State:
    """The state a recorded version stored: its object's version and, from the same
    revision, the versions of its parts."""
    model = version._model
    state = State(version=version)
    in_revision = Version.objects.filter(revision_id=version.revision_id)
    parents = {model: {str(version.object_id)}}
    for part in _contents[model].parts:
        parent_field = part.model._meta.get_field(part.parent)
        candidates = in_revision.filter(content_type=ContentType.objects.get_for_model(part.model))
        kept = [
            candidate
            for candidate in candidates.order_by("pk")
            if str(candidate.field_dict[parent_field.attname])
            in parents.get(parent_field.related_model, set())
        ]
        state.parts[part.model] = kept
        parents[part.model] = {str(candidate.object_id) for candidate in kept}
    return state


def _display(model_field, value) -> str:
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        target = model_field.related_model._base_manager.filter(pk=value).first()
        return str(target) if target is not None else f"(deleted, id {value})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")
    return str(value)


def describe(state: State) -> dict[str, str]:
    """What an editor reads of a state, field by field: the comparable fields of the
    object, then its parts (see-also terms, questions with their choices)."""
    model = state.version._model
    obj = state.version._object_version.object
    lines = {}
    for model_field in model._meta.concrete_fields:
        if model_field.name in UNCOMPARED_FIELDS or model_field.generated:
            continue
        label = str(model_field.verbose_name).capitalize()
        lines[label] = _display(model_field, getattr(obj, model_field.attname))
    lines.update(_contents[model].describe_parts(state))
    return lines


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def diff(before: dict[str, str] | None, after: dict[str, str]) -> list[Change]:
    """The lines that differ between two descriptions; every filled-in line when there is
    no `before` (the first version)."""
    before = before or dict.fromkeys(after, "—")
    labels = list(dict.fromkeys([*before, *after]))
    return [
        Change(label, before.get(label, "—"), after.get(label, "—"))
        for label in labels
        if before.get(label, "—") != after.get(label, "—")
    ]


def content_for(model) -> Content:
    return _contents[model]
