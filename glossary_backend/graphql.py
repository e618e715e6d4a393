"""Building blocks shared by the apps' GraphQL layers: the ID and cursor parsers,
errors, and the composition of fields that one app contributes to another's type."""

import datetime
import re
from operator import methodcaller

import strawberry
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from graphql import GraphQLError
from strawberry import relay
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from glossary_backend.inputs import parse_day, parse_moment

# Also the page size when a client gives neither `first` nor `last`.
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


def _scalar_parser(parse, type_name: str):
    """`parse` as a scalar's input parser: its ValueError is the client's error."""

    def parse_value(value):
        if not isinstance(value, str):
            raise StrawberryInputCoercionError(f"A {type_name} is written as a string.")
        try:
            return parse(value)
        except ValueError as error:
            raise StrawberryInputCoercionError(f"A {type_name} {error}.") from None

    return parse_value


DAY = ScalarDefinition(
    name="Date",
    description="A day, written YYYY-MM-DD.",
    specified_by_url=None,
    serialize=methodcaller("isoformat"),
    parse_value=_scalar_parser(parse_day, "Date"),
    parse_literal=None,
    origin=datetime.date,
)
MOMENT = ScalarDefinition(
    name="DateTime",
    description="A moment: ISO 8601 date and time with a UTC offset "
    "(2026-11-27T10:00:00Z); answers are in UTC.",
    specified_by_url=None,
    serialize=methodcaller("isoformat"),
    parse_value=_scalar_parser(parse_moment, "DateTime"),
    parse_literal=None,
    origin=datetime.datetime,
)
# Strawberry's own parse more forms (dates without dashes, week dates, times without an
# offset); every Date and DateTime argument and input goes through the shared rules.
SCALAR_OVERRIDES = {datetime.date: DAY, datetime.datetime: MOMENT}


# Primary keys and offsets as their canonical ASCII digits: no signs, no leading zeros,
# no superscripts or digits of other scripts, nothing a 64-bit column cannot hold.
CANONICAL_NUMBER = re.compile(r"(0|[1-9][0-9]{0,18})")
MAX_DATABASE_ID = 2**63 - 1
MAX_CURSOR_OFFSET = 2**31 - 1


def _canonical_number(text: str, maximum: int) -> int | None:
    if not CANONICAL_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number <= maximum else None


def parse_global_id(value: str) -> tuple[str, int]:
    """(type name, primary key) of a global ID; ValueError when it is not one.

    The one parser of global IDs: every argument and input that takes one goes through
    it, so "Term:15", "Term:015", full-width digits and "Term:99999999999999999999" are told
    apart the same way everywhere. Whether the type exists is the caller's question.
    """
    try:
        type_name, node_id = relay.from_base64(value)
    except (ValueError, TypeError):
        raise ValueError("not a global ID") from None
    number = _canonical_number(node_id, MAX_DATABASE_ID)
    # Written exactly as the API writes it: base64 also decodes around stray spaces,
    # line breaks and extra padding.
    if not type_name or not number or relay.to_base64(type_name, number) != value:
        raise ValueError("not a global ID")
    return type_name, number


def parse_cursor(value: str, argument: str, *, prefix: str = relay.types.PREFIX) -> int:
    """The number in a connection cursor: an offset, or for connections that page by key
    (their type's `cursor_prefix`) an id; InvalidArgument when it is not one of ours."""
    try:
        found, offset = relay.from_base64(value)
    except (ValueError, TypeError):
        found, offset = None, ""
    maximum = MAX_CURSOR_OFFSET if prefix == relay.types.PREFIX else MAX_DATABASE_ID
    number = _canonical_number(offset, maximum)
    if found != prefix or number is None or relay.to_base64(prefix, number) != value:
        raise InvalidArgument(argument, "is not a cursor of this list.")
    return number


def extend_type(target: type, contribution: type, *, after: str | None = None) -> None:
    """Add the fields of `contribution` to the GraphQL type `target`, after its field
    `after` (at the end when None).

    How an app adds fields to another app's type without that app importing it: the
    contributing app declares its fields on a strawberry_django type of the same model
    that never reaches the schema itself, and the root schema composes them into the
    owner's type before the schema is built. Every reference to the owner's type, in
    any app, then serves the composed fields. `after` keeps the order of fields the
    published schema has.
    """
    target_definition = target.__strawberry_definition__
    model = target.__strawberry_django_definition__.model
    if contribution.__strawberry_django_definition__.model is not model:
        raise ImproperlyConfigured(f"{contribution.__name__} does not describe {model.__name__}.")
    names = [field.python_name for field in target_definition.fields]
    added = contribution.__strawberry_definition__.fields
    clashes = set(names) & {field.python_name for field in added}
    if clashes:
        raise ImproperlyConfigured(f"{target.__name__} already has {sorted(clashes)}.")
    position = len(names) if after is None else names.index(after) + 1
    target_definition.fields[position:position] = added
