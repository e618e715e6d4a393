"""Building blocks shared by the apps' GraphQL layers: connection arguments, errors, and
the composition of fields that one app contributes to another's type."""

import re

import strawberry
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    get_operation_ast,
    visit,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry import relay
from strawberry.extensions import SchemaExtension

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


def _valid_cursor(cursor: str) -> bool:
    try:
        prefix, offset = relay.from_base64(cursor)
    except (ValueError, TypeError):
        return False
    return prefix == relay.types.PREFIX and offset.isdigit()


def _is_connection(field_type) -> bool:
    named = get_named_type(field_type)
    return isinstance(named, GraphQLObjectType) and {"edges", "pageInfo"} <= named.fields.keys()


class ConnectionArguments(SchemaExtension):
    """Checks every connection's `first`, `last`, `after` and `before` before execution.

    Strawberry checks them too, but as plain exceptions raised where they are read, and
    for nested connections that is inside the optimizer's planning of the parent's
    query: the client would get a masked error. Checked here, over the whole document
    with its variables, they are coded errors naming the argument, and nothing runs.
    """

    PAGE_ARGUMENTS = re.compile(r"\b(first|last|after|before)\b")

    def on_execute(self):
        context = self.execution_context
        if not self.PAGE_ARGUMENTS.search(context.query or ""):
            yield  # most documents page nothing: no need to walk them
            return
        schema = context.schema._schema
        operation = context.graphql_document and get_operation_ast(
            context.graphql_document, context.operation_name
        )
        variables = operation and get_variable_values(
            schema, operation.variable_definitions or (), context.variables or {}
        )
        # Without one operation and valid variables, execution reports the problem itself.
        if isinstance(variables, VariableValues):
            type_info = TypeInfo(schema)
            checker = TypeInfoVisitor(type_info, _ConnectionFields(type_info, variables))
            visit(operation, checker)
            for definition in context.graphql_document.definitions:
                if isinstance(definition, FragmentDefinitionNode):
                    visit(definition, checker)
        yield


class _ConnectionFields(Visitor):
    def __init__(self, type_info: TypeInfo, variables: VariableValues):
        super().__init__()
        self.type_info = type_info
        self.variables = variables

    def enter_field(self, node: FieldNode, *_args):
        field = self.type_info.get_field_def()
        if field is None or not node.arguments or not _is_connection(field.type):
            return
        try:
            values = get_argument_values(field, node, self.variables)
        except GraphQLError:
            return  # execution reports it
        for name in ("first", "last"):
            value = values.get(name)
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise InvalidArgument(name, f"must be between 0 and {MAX_PAGE_SIZE}.")
        for name in ("after", "before"):
            value = values.get(name)
            if value is not None and not _valid_cursor(value):
                raise InvalidArgument(name, "is not a cursor of this list.")


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
