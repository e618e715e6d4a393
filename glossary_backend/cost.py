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
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_list_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter

from glossary_backend.graphql import MAX_PAGE_SIZE, InvalidArgument, parse_cursor

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
    """The cost of selections of one operation, under given variables.

    Costs are memoised per (selection set, type): a fragment spread many times, or
    fragments that spread each other, are walked once each, so a hostile document
    costs the walk no more than its size.
    """

    def __init__(self, schema: GraphQLSchema, fragments: dict, variables: VariableValues):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.memo: dict[tuple, int] = {}

    def selection_cost(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page_size=None
    ) -> int:
        if is_abstract_type(parent):
            # An object is of one concrete type: the costliest of them bounds it.
            return max(
                (
                    self._object_cost(selection_set, possible, page_size)
                    for possible in self.schema.get_possible_types(parent)
                ),
                default=0,
            )
        return self._object_cost(selection_set, parent, page_size)

    def _applies(self, type_condition, object_type: GraphQLObjectType) -> bool:
        if type_condition is None:
            return True
        condition = self.schema.get_type(type_condition.name.value)
        if condition is object_type:
            return True
        return is_abstract_type(condition) and self.schema.is_sub_type(condition, object_type)

    def _object_cost(self, selection_set, object_type: GraphQLObjectType, page_size) -> int:
        key = (id(selection_set), object_type.name, page_size)
        if key in self.memo:
            return self.memo[key]
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, object_type, page_size)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, object_type):
                    total += self._object_cost(selection.selection_set, object_type, page_size)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and self._applies(fragment.type_condition, object_type):
                    total += self._object_cost(fragment.selection_set, object_type, page_size)
        self.memo[key] = total
        return total

    def _field_cost(self, node: FieldNode, parent: GraphQLObjectType, page_size) -> int:
        name = node.name.value
        field = parent.fields.get(name)
        if field is None or node.selection_set is None:
            return 1  # a leaf, __typename, or introspection's meta fields
        arguments = get_argument_values(field, node, self.variables) if field.args else {}
        named = get_named_type(field.type)
        if _is_connection(named):
            return 1 + self.selection_cost(node.selection_set, named, _page_size(arguments))
        items = 1
        if is_list_type(get_nullable_type(field.type)):
            if name == "edges" and page_size is not None:
                items = page_size
            else:
                declared = _declared_maximum(parent, name, field, arguments)
                items = MAX_PAGE_SIZE if declared is None else declared
        return 1 + items * self.selection_cost(node.selection_set, named)


def _page_size(arguments: dict) -> int:
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
            parse_cursor(value, name)
    sizes = [arguments[name] for name in ("first", "last") if arguments.get(name) is not None]
    return min(sizes) if sizes else MAX_PAGE_SIZE


def operation_cost(schema: GraphQLSchema, document, operation_name, variables) -> int | None:
    """The cost of the operation to run; None when there is no single operation to run
    or its variables are invalid (execution then reports the problem itself)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    values = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if not isinstance(values, VariableValues):
        return None
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    root = schema.get_root_type(operation.operation)
    return CostEstimator(schema, fragments, values).selection_cost(operation.selection_set, root)


class OperationCost(SchemaExtension):
    """Refuses operations over GRAPHQL_MAX_COST before execution; reports every cost."""

    def __init__(self, *, execution_context=None):
        super().__init__(execution_context=execution_context)
        self.cost: int | None = None

    def on_execute(self):
        context = self.execution_context
        if context.graphql_document is not None:
            self.cost = operation_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            if self.cost is not None and self.cost > settings.GRAPHQL_MAX_COST:
                raise QueryTooCostly(self.cost, settings.GRAPHQL_MAX_COST)
        yield

    def get_results(self) -> dict:
        return {} if self.cost is None else {"cost": self.cost}
