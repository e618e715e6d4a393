"""Building blocks shared by the apps' GraphQL layers: the connection type and errors."""

from typing import Any

import strawberry
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from graphql import GraphQLError
from strawberry import relay
from strawberry_django.relay import DjangoListConnection

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def request_user(info: strawberry.Info):
    return info.context.request.user


def count_per_parent(queryset: QuerySet, parent_field: str):
    """An annotation counting the rows of `queryset` that point to the outer row.

    A correlated subquery rather than Count() over a join: it keeps the outer query free
    of GROUP BY, so ordering, slicing and other annotations stay as they are.
    """
    counts = (
        queryset.filter(**{parent_field: OuterRef("pk")})
        .order_by()
        .values(parent_field)
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class InvalidArgument(GraphQLError):
    """A client error in one argument, reported with a stable code and the argument's name."""

    def __init__(self, argument: str, message: str):
        super().__init__(
            f"{argument}: {message}",
            extensions={"code": "BAD_USER_INPUT", "argument": argument},
        )


MAX_SLUG_LENGTH = 200


def checked_slug(slug: str, argument: str = "slug") -> str:
    """`slug` if it could be a slug at all; a coded error for oversized input."""
    if len(slug) > MAX_SLUG_LENGTH:
        raise InvalidArgument(argument, f"must be at most {MAX_SLUG_LENGTH} characters.")
    return slug


def _valid_cursor(cursor: str) -> bool:
    try:
        prefix, offset = relay.from_base64(cursor)
    except (ValueError, TypeError):
        return False
    return prefix == relay.types.PREFIX and offset.isdigit()


@strawberry.type(
    name="Connection",
    description="A page of items with cursors and a total count. `first` defaults to 50 "
    "and may be at most 100.",
)
class Connection(DjangoListConnection[relay.NodeType]):
    """DjangoListConnection with a page size of 50 when the client asks for none.

    The cap (100) is the schema's `relay_max_results`; a larger `first` is an error.
    """

    @classmethod
    def resolve_connection(
        cls,
        nodes,
        *,
        info: strawberry.Info,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        **kwargs: Any,
    ):
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise InvalidArgument(name, f"must be between 0 and {MAX_PAGE_SIZE}.")
        for name, cursor in (("after", after), ("before", before)):
            if cursor is not None and not _valid_cursor(cursor):
                raise InvalidArgument(name, "is not a cursor of this list.")
        if first is None and last is None:
            first = DEFAULT_PAGE_SIZE
        return super().resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
        )
