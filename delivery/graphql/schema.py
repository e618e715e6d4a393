"""The sync feed: `changes(after, first)`, the outbox's events in order, for frontends
and static site builds that sync incrementally from their last cursor."""

import datetime
from enum import Enum

import strawberry
from django.conf import settings
from graphql import GraphQLError
from strawberry import relay

from glossary_backend.graphql import MAX_PAGE_SIZE, parse_cursor
from terms.models import ChangeEvent, ChangeKind
from terms.outbox import feed_horizon

CURSOR_PREFIX = "change"
DEFAULT_CHANGES = 50


@strawberry.enum(
    name="ChangeKind", description="What a change did to an object as the public sees it."
)
class ChangeKindEnum(Enum):
    CREATED = ChangeKind.CREATED.value
    UPDATED = ChangeKind.UPDATED.value
    UNPUBLISHED = ChangeKind.UNPUBLISHED.value
    DELETED = ChangeKind.DELETED.value


@strawberry.type(name="Change", description="One change of published content.")
class ChangeType:
    kind: ChangeKindEnum
    typename: str = strawberry.field(description='The changed object\'s type ("Term").')
    node_id: strawberry.ID = strawberry.field(description="The changed object's global ID.")
    slug: str = strawberry.field(description="Its slug (the one it had, when deleted).")
    changed_at: datetime.datetime = strawberry.field(description="When the change happened.")


def cursor_of(event_id: int) -> str:
    return relay.to_base64(CURSOR_PREFIX, event_id)


@strawberry.type(name="ChangeEdge")
class ChangeEdge:
    cursor: str
    node: ChangeType


@strawberry.type(
    name="ChangeConnection",
    description="Changes in the order they happened, paged by cursor.",
)
class ChangeConnection:
    cursor_prefix = CURSOR_PREFIX  # glossary_backend.cost checks `after` against it

    edges: list[ChangeEdge]
    page_info: relay.PageInfo

    @strawberry.field(
        description="The cursor of the newest change: after a full sync, ask for the "
        "changes after it."
    )
    def latest_cursor(self) -> str | None:
        newest = ChangeEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        return cursor_of(newest) if newest else None


class CursorExpired(GraphQLError):
    def __init__(self):
        super().__init__(
            f"after: the changes after this cursor were compacted (they are kept "
            f"{settings.CHANGE_RETENTION_DAYS} days); do a full sync, then use latestCursor.",
            extensions={"code": "CURSOR_EXPIRED", "argument": "after"},
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="Changes of published content after a cursor, oldest first: created, "
        "updated, unpublished and deleted objects. A cursor older than the retention "
        "period is refused with CURSOR_EXPIRED."
    )
    def changes(
        self, after: str | None = None, first: int | None = DEFAULT_CHANGES
    ) -> ChangeConnection:
        size = MAX_PAGE_SIZE if first is None else first
        events = ChangeEvent.objects.order_by("pk")
        if after is not None:
            last_seen = parse_cursor(after, "after", prefix=CURSOR_PREFIX)
            if last_seen < feed_horizon():
                raise CursorExpired
            events = events.filter(pk__gt=last_seen)
        rows = list(
            events.values_list("pk", "kind", "typename", "object_id", "slug", "created_at")[
                : size + 1
            ]
        )
        edges = [
            ChangeEdge(
                cursor=cursor_of(pk),
                node=ChangeType(
                    kind=ChangeKindEnum(kind),
                    typename=typename,
                    node_id=relay.to_base64(typename, object_id),
                    slug=slug,
                    changed_at=created_at,
                ),
            )
            for pk, kind, typename, object_id, slug, created_at in rows[:size]
        ]
        return ChangeConnection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=len(rows) > size,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else after,
            ),
        )
