"""The change outbox: one event per change the public can see, in the change's transaction.

Services open `recording()` around a write and `watch()` the objects it may change;
when the outermost block ends (still inside the transaction), each watched object's
visibility before and after decides its event: hidden -> visible is CREATED, visible ->
visible UPDATED, visible -> hidden UNPUBLISHED, visible -> gone DELETED; hidden before
and after is no event (the public saw nothing). A rolled-back write takes its events
with it. Scheduled go-live and expiry are recorded by `schedule_events_record`, which
the delivery worker calls every sweep.

The events are the one record of what a change makes the public see differently:
their surrogate keys are what every cache drops. After the commit, the listeners
registered with `committed_listener_register` get the events the transaction wrote:
the origin's response cache invalidates their keys at once, the delivery relay wakes
up to purge the CDN with the same keys and send the webhooks.

On PostgreSQL the writers of events take one transaction-level advisory lock, so
events commit in the order of their ids: a reader that has seen event N has seen every
event before it (the sync feed's cursors and the relay rely on it).
"""

import datetime
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from terms.models import (
    ChangeEvent,
    ChangeFeedHorizon,
    ChangeKind,
    Chapter,
    Publishable,
    Status,
    Term,
    TermMention,
    live_q,
)

# Scheduled times further back than this are no longer announced (a worker down longer).
SCHEDULE_LOOKBACK = datetime.timedelta(days=1)
OUTBOX_LOCK = 0x6F7574626F78  # "outbox"

_local = threading.local()
# Models whose visibility follows a chapter's: chapter pks -> their pks, per model.
_dependents: list[tuple[type[Publishable], Callable[[Iterable[int]], Iterable[int]]]] = []
_publishable_models: list[type[Publishable]] = []
_committed_listeners: list[Callable[[list[ChangeEvent]], None]] = []


def register_publishable(model: type[Publishable], *, follows_chapter: bool = False) -> None:
    """Make `model` part of the outbox: its scheduled changes are looked for, and when
    `follows_chapter`, a chapter's change of visibility is also its objects'."""
    if model not in _publishable_models:
        _publishable_models.append(model)
    if follows_chapter and model not in [dependent for dependent, _ in _dependents]:
        _dependents.append(
            (
                model,
                lambda chapter_pks: model._base_manager.filter(
                    chapter__in=list(chapter_pks)
                ).values_list("pk", flat=True),
            )
        )


def committed_listener_register(listener: Callable[[list[ChangeEvent]], None]) -> None:
    """Call `listener(events)` after each commit that recorded events, with the events
    written (the response cache's invalidation, the relay's wake-up)."""
    if listener not in _committed_listeners:
        _committed_listeners.append(listener)


def _events_committed(events: list[ChangeEvent]) -> None:
    for listener in _committed_listeners:
        listener(events)


@dataclass
class _Seen:
    visible: bool
    slug: str
    keys: set[str] = field(default_factory=set)
    # Watched only because its chapter was: an event only if its visibility changes.
    through_chapter: bool = False


def _watched() -> dict | None:
    return getattr(_local, "watched", None)


@contextmanager
def recording():
    """Collect the changes of the block and write their events when the outermost block
    ends; call inside the write's transaction. Nested blocks join the outer one."""
    if _watched() is not None:
        yield
        return
    _local.watched = {}
    try:
        yield
        watched = _local.watched
    finally:
        _local.watched = None
    events_write(_events(watched))


def watch(model: type[Publishable], pks: Iterable[int]) -> None:
    """Note how the public sees these objects now (and the objects whose visibility
    follows them), so the block's end can tell what changed. Objects without a pk yet
    (being created) need not be watched: `watch_created` does it after the save."""
    watched = _watched()
    assert watched is not None, "watch() runs inside outbox.recording()"
    pks = {pk for pk in pks if pk is not None}
    _watch(watched, model, pks)
    for pk in pks:
        watched[(model, pk)].through_chapter = False
    if model is Chapter and pks:
        for dependent, pks_of in _dependents:
            _watch(watched, dependent, set(pks_of(pks)), through_chapter=True)


def watch_created(obj: Publishable) -> None:
    """A new object: hidden before its first save."""
    watched = _watched()
    assert watched is not None, "watch_created() runs inside outbox.recording()"
    watched.setdefault((type(obj), obj.pk), _Seen(visible=False, slug=obj.slug))


def _watch(watched: dict, model, pks: set[int], *, through_chapter: bool = False) -> None:
    fresh = {pk for pk in pks if (model, pk) not in watched}
    if not fresh:
        return
    for pk, seen in _states(model, fresh).items():
        seen.through_chapter = through_chapter
        watched[(model, pk)] = seen


def _states(model, pks: set[int]) -> dict[int, _Seen]:
    """How the public sees each object now, with the keys that showing it involves."""
    visible = set(model.objects.published().filter(pk__in=pks).values_list("pk", flat=True))
    columns = ["pk", "slug"] + (["chapter_id"] if _has_chapter(model) else [])
    states = {}
    for row in model._base_manager.filter(pk__in=pks).values(*columns):
        keys = {model(pk=row["pk"]).surrogate_key, model.list_surrogate_key()}
        if row.get("chapter_id"):
            keys.add(Chapter(pk=row["chapter_id"]).surrogate_key)
        states[row["pk"]] = _Seen(visible=row["pk"] in visible, slug=row["slug"], keys=keys)
    if model is Term:
        # Their rendered definitions link to the term: its name and its visibility show.
        for source, target in TermMention.objects.filter(target__in=states).values_list(
            "source", "target"
        ):
            states[target].keys.add(Term(pk=source).surrogate_key)
    return states


def _has_chapter(model) -> bool:
    return any(f.name == "chapter" and f.is_relation for f in model._meta.concrete_fields)


def _events(watched: dict) -> list[ChangeEvent]:
    by_model: dict = {}
    for model, pk in watched:
        by_model.setdefault(model, set()).add(pk)
    now = timezone.now()
    events = []
    for model, pks in by_model.items():
        after = _states(model, pks)
        for pk in sorted(pks):
            before = watched[(model, pk)]
            now_seen = after.get(pk)
            kind = _kind(before.visible, now_seen)
            if kind is None or (kind == ChangeKind.UPDATED and before.through_chapter):
                continue
            keys = before.keys | (now_seen.keys if now_seen else set())
            if kind != ChangeKind.UPDATED and model is not Chapter:
                keys.add(Chapter.list_surrogate_key())  # the chapters' counts change
            events.append(
                ChangeEvent(
                    kind=kind,
                    typename=model.__name__,
                    object_id=pk,
                    slug=now_seen.slug if now_seen else before.slug,
                    surrogate_keys=sorted(keys),
                    created_at=now,
                )
            )
    return events


def _kind(was_visible: bool, now_seen: _Seen | None) -> ChangeKind | None:
    if now_seen is None:
        return ChangeKind.DELETED if was_visible else None
    if was_visible:
        return ChangeKind.UPDATED if now_seen.visible else ChangeKind.UNPUBLISHED
    return ChangeKind.CREATED if now_seen.visible else None


def events_write(events: list[ChangeEvent], *, ignore_conflicts: bool = False) -> None:
    """Write `events` in the current transaction, ids in commit order (see the module)."""
    if not events:
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [OUTBOX_LOCK])
        ChangeEvent.objects.bulk_create(events, ignore_conflicts=ignore_conflicts)
        transaction.on_commit(partial(_events_committed, events))


def schedule_events_record(*, now: datetime.datetime | None = None) -> int:
    """Record the go-lives (CREATED) and expiries (UNPUBLISHED) that came due since
    SCHEDULE_LOOKBACK, once each (a unique constraint makes repeats no-ops), for the
    objects and for those whose visibility follows a chapter's. Only times set before
    publication count: publishing content whose go-live already passed is its own
    CREATED. Returns how many events were recorded (none for moments already recorded,
    so that a sweep wakes nobody when nothing came due)."""
    now = now or timezone.now()
    since = now - SCHEDULE_LOOKBACK
    events = []
    for model in _publishable_models:
        due = model._base_manager.filter(status=Status.PUBLISHED)
        for time_field, kind in (("go_live_at", ChangeKind.CREATED), ("expire_at", None)):
            window = Q(**{f"{time_field}__gt": since, f"{time_field}__lte": now}) & Q(
                **{f"{time_field}__gt": models.F("published_at")}
            )
            for obj in due.filter(window):
                moment = getattr(obj, time_field)
                events += _scheduled_events(model, obj, kind or ChangeKind.UNPUBLISHED, moment)
    events = _not_recorded(events)
    with transaction.atomic():
        events_write(events, ignore_conflicts=True)
    return len(events)


def _scheduled_events(model, obj, kind: ChangeKind, moment) -> list[ChangeEvent]:
    objects = [(model, obj.pk)]
    if model is Chapter:
        # Only the chapter's objects that are live in themselves appear or disappear with it.
        objects += [
            (dependent, pk)
            for dependent, pks_of in _dependents
            for pk in dependent._base_manager.filter(
                live_q(), pk__in=list(pks_of([obj.pk]))
            ).values_list("pk", flat=True)
        ]
    events = []
    for each_model, pk in objects:
        state = _states(each_model, {pk}).get(pk)
        if state is None or (kind == ChangeKind.CREATED) != state.visible:
            continue  # hidden for another reason (its chapter, its own schedule)
        keys = state.keys | ({Chapter.list_surrogate_key()} if each_model is not Chapter else set())
        events.append(
            ChangeEvent(
                kind=kind,
                typename=each_model.__name__,
                object_id=pk,
                slug=state.slug,
                surrogate_keys=sorted(keys),
                created_at=moment,
                scheduled_at=moment,
            )
        )
    return events


def _not_recorded(events: list[ChangeEvent]) -> list[ChangeEvent]:
    """`events` less the scheduled ones already written (the unique constraint would
    make them no-ops, but their listeners would still be called)."""
    if not events:
        return events
    moments = {event.scheduled_at for event in events}
    recorded = set(
        ChangeEvent.objects.filter(scheduled_at__in=moments).values_list(
            "typename", "object_id", "kind", "scheduled_at"
        )
    )
    return [
        event
        for event in events
        if (event.typename, event.object_id, event.kind, event.scheduled_at) not in recorded
    ]


@transaction.atomic
def change_events_compact(*, before: datetime.datetime) -> int:
    """Delete the dispatched events older than `before`, remembering the newest deleted
    id, so that a feed cursor from before it is told it expired. Returns how many."""
    old = ChangeEvent.objects.filter(created_at__lt=before, dispatched_at__isnull=False)
    newest = old.aggregate(newest=models.Max("pk"))["newest"]
    if newest is None:
        return 0
    deleted, _ = ChangeEvent.objects.filter(pk__lte=newest, dispatched_at__isnull=False).delete()
    horizon, _ = ChangeFeedHorizon.objects.select_for_update().get_or_create(pk=1)
    horizon.last_compacted_id = max(horizon.last_compacted_id, newest)
    horizon.compacted_at = timezone.now()
    horizon.save()
    return deleted


def feed_horizon() -> int:
    """The newest compacted event id (0 when nothing was compacted)."""
    return (
        ChangeFeedHorizon.objects.filter(pk=1).values_list("last_compacted_id", flat=True).first()
        or 0
    )
