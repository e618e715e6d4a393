"""What an operation may cost, decided from the document and its variables before it runs.

Depth, alias and token limits do not bound the work of a short document that nests
lists (`relatedTerms` inside `relatedTerms` under `search`): every list multiplies the
work below it. `OperationCost` walks the operation once, with its fragments and
variables, and computes the most that execution can produce:

    cost(field) = 1 + (the most items the field can return) x cost(its selection)

where the most items is 1 for an object, `first` (or `last`, or the default page) for a
connection's `edges`, and the declared maximum of a plain list (`MaxItems`, which also
enforces it when the field resolves). Over `GRAPHQL_MAX_COST` the operation is refused
with `QUERY_TOO_COSTLY` and nothing runs; every answer reports its cost in
`extensions.cost`. The same walk checks every connection's page arguments, nested ones
and those reached through fragments included, so they are coded errors too.
"""

from __future__ import annotations

from django.conf import settings
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_list_type,
)
from graphql.execution.collect_fields import FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.relay.types import PREFIX
from strawberry.schema.schema_converter import GraphQLCoreConverter

from glossary_backend.graphql import MAX_PAGE_SIZE, InvalidArgument, parse_cursor
from glossary_backend.inputs import canonical_json
from glossary_backend.security import trusted_document_of

# Costs remembered per registered document (one per operation name and variables).
MAX_COSTS_PER_DOCUMENT = 256

# Lists of types that belong to libraries, which cannot carry a MaxItems declaration.
LIBRARY_LIST_MAXIMUMS = {("OperationInfo", "messages"): 20}


class MaxItems(FieldExtension):
    """Declares the most items a plain list field returns, and never returns more.

    Either a fixed number (`MaxItems(50)`) or the value of an argument that the
    resolver already checks against a bound (`MaxItems(argument="first", default=20)`).
    """

    def __init__(self, limit: int | None = None, *, argument: str | None = None, default=None):
        assert (limit is None) != (argument is None), "a limit or an argument, not both"
        self.limit = limit
        self.argument = argument
        self.default = default

    def maximum(self, arguments: dict) -> int:
        if self.limit is not None:
            return self.limit
        value = arguments.get(self.argument, self.default)
        return value if isinstance(value, int) and value > 0 else 0

    def resolve(self, next_, source, info, **kwargs):
        if self.limit is None:
            return next_(source, info, **kwargs)  # the resolver bounds its own argument
        return next_(source, info, **kwargs)[: self.limit]


class QueryTooCostly(GraphQLError):
    def __init__(self, cost: int, limit: int):
        super().__init__(
            f"This operation could return up to {cost} fields, more than the limit of "
            f"{limit}; ask for smaller pages or fewer nested lists.",
            extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": limit},
        )


def _is_connection(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType) and {"edges", "pageInfo"} <= named.fields.keys()


def _declared_maximum(parent: GraphQLObjectType, name: str, field: GraphQLField, arguments):
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    for extension in getattr(definition, "extensions", None) or ():
        if isinstance(extension, MaxItems):
            return extension.maximum(arguments)
    return LIBRARY_LIST_MAXIMUMS.get((parent.name, name))


class CostEstimator:
    """The cost of one operation under given variables.

    Fields are collected as execution collects them (graphql-core's collect_fields):
    fragments expanded, fields of the same response key merged, @skip and @include
    applied. Costs are memoised per merged selection and type, so fragments that spread
    each other many times over cost the walk no more than the document's size.
    Introspection's meta fields (__schema, __type) count once: what they return is
    bounded by the schema, and an operation asks for __schema at most once
    (glossary_backend.security.OperationShapeLimits).
    """

    def __init__(self, schema: GraphQLSchema, document, operation, variables: VariableValues):
        self.schema = schema
        self.operation = operation
        self.variables = variables
        self.fragments = {
            definition.name.value: FragmentDetails(definition)
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.memo: dict[tuple, int] = {}

    def cost(self) -> int:
        root = self.schema.get_root_type(self.operation.operation)
        grouped = collect_fields(
            self.schema, self.fragments, self.variables, root, self.operation
        ).grouped_field_set
        return self._grouped_cost(grouped, root, None)

    def _grouped_cost(self, grouped, parent: GraphQLObjectType, page_size) -> int:
        return sum(self._field_cost(details, parent, page_size) for details in grouped.values())

    def _field_cost(self, details, parent: GraphQLObjectType, page_size) -> int:
        node = details[0].node
        name = node.name.value
        field = parent.fields.get(name)
        if field is None or not any(detail.node.selection_set for detail in details):
            return 1  # a leaf, __typename, or introspection's meta fields
        arguments = get_argument_values(field, node, self.variables) if field.args else {}
        named = get_named_type(field.type)
        if _is_connection(named):
            page_size = _page_size(arguments, _cursor_prefix(named))
            return 1 + self._selection_cost(details, named, page_size)
        items = 1
        if is_list_type(get_nullable_type(field.type)):
            if name == "edges" and page_size is not None:
                items = page_size
            else:
                declared = _declared_maximum(parent, name, field, arguments)
                items = MAX_PAGE_SIZE if declared is None else declared
        return 1 + items * self._selection_cost(details, named, None)

    def _selection_cost(self, details, named: GraphQLNamedType, page_size) -> int:
        key = (tuple(id(detail.node) for detail in details), named.name, page_size)
        if key not in self.memo:
            # An object is of one concrete type: the costliest of them bounds it.
            possible = self.schema.get_possible_types(named) if is_abstract_type(named) else [named]
            self.memo[key] = max(
                (
                    self._grouped_cost(
                        collect_subfields(
                            self.schema,
                            self.fragments,
                            self.variables,
                            self.operation,
                            object_type,
                            details,
                        ).grouped_field_set,
                        object_type,
                        page_size,
                    )
                    for object_type in possible
                ),
                default=0,
            )
        return self.memo[key]


def _cursor_prefix(named: GraphQLNamedType) -> str:
    """The prefix of a connection's cursors: relay's offsets unless the connection's type
    pages by key and says so (`cursor_prefix`)."""
    definition = (named.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return getattr(getattr(definition, "origin", None), "cursor_prefix", PREFIX)


def _page_size(arguments: dict, prefix: str = PREFIX) -> int:
    """The most edges a connection returns; raises InvalidArgument for bad page arguments."""
    # `last: 0` would be an empty page, but strawberry reads it as "no limit" and answers
    # a full one: refused rather than answered wrongly.
    for name, least in (("first", 0), ("last", 1)):
        value = arguments.get(name)
        if value is not None and not least <= value <= MAX_PAGE_SIZE:
            raise InvalidArgument(name, f"must be between {least} and {MAX_PAGE_SIZE}.")
    for name in ("after", "before"):
        value = arguments.get(name)
        if value is not None:
            parse_cursor(value, name, prefix=prefix)
    sizes = [arguments[name] for name in ("first", "last") if arguments.get(name) is not None]
    return min(sizes) if sizes else MAX_PAGE_SIZE


def operation_cost(schema: GraphQLSchema, document, operation_name, variables) -> int | None:
    """The cost of the operation to run; None when its variables are invalid (execution
    then reports the problem itself). Raises InvalidArgument for bad page arguments and
    a coded error when the document's operation cannot be told."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        raise GraphQLError(
            f"No operation named {operation_name!r} in the document."
            if operation_name
            else "The document has several operations: name the one to run (operationName).",
            extensions={"code": "BAD_USER_INPUT", "argument": "operationName"},
        )
    values = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if not isinstance(values, VariableValues):
        return None
    return CostEstimator(schema, document, operation, values).cost()


class OperationCost(SchemaExtension):
    """Refuses operations over GRAPHQL_MAX_COST before execution; reports every cost."""

    def __init__(self, *, execution_context=None):
        super().__init__(execution_context=execution_context)
        self.cost: int | None = None

    def on_execute(self):
        context = self.execution_context
        if context.graphql_document is not None:
            # The name the client gave: strawberry's `operation_name` falls back to the
            # first operation's, where the spec requires an error for several.
            arguments = (
                context.schema._schema,
                context.graphql_document,
                context._provided_operation_name,
                context.variables,
            )
            trusted = trusted_document_of(context)
            if trusted is None:
                self.cost = operation_cost(*arguments)
            else:
                # A registered document's cost, once per operation name and variables.
                key = (context._provided_operation_name, canonical_json(context.variables))
                if key not in trusted.costs:
                    if len(trusted.costs) >= MAX_COSTS_PER_DOCUMENT:
                        trusted.costs.clear()
                    trusted.costs[key] = operation_cost(*arguments)
                self.cost = trusted.costs[key]
            if self.cost is not None and self.cost > settings.GRAPHQL_MAX_COST:
                raise QueryTooCostly(self.cost, settings.GRAPHQL_MAX_COST)
        yield

    def get_results(self) -> dict:
        return {} if self.cost is None else {"cost": self.cost}
