"""Column fields: the GraphQL fields that only read a model column, executed as such.

A page of 100 terms with a few scalar fields each is mostly column fields (`slug`,
`name`, `title`), and by default each of them pays strawberry-graphql-django's resolver
chain: strawberry marks every strawberry_django field "not basic"
(`StrawberryDjangoFieldBase.is_basic_field`), so each value gets a strawberry `Info`,
argument parsing, the extension chain and `StrawberryDjangoField.get_result`, and the
optimizer's per-field middleware (`DjangoOptimizerExtension.resolve`) on top. The
limit view reads the attribute. Measured in-process on the benchmark's "chapters x 100
terms" (10,000 column values a request), that chain was about a quarter of the
request (docs/performance.md).

A column field here is a strawberry_django field with no resolver of its own, no field
extension (permissions are extensions) and no relation, whose model attribute is a
plain concrete column (`DeferredAttribute`; a file column wraps its value, so it is
left to the library). For those:

- `install(schema)` gives the graphql-core field a resolver that reads the attribute
  (the library's own behaviour for a loaded column, `get_result`'s cached-value path),
  and records it in `COLUMNS` for the executor;
- `Middleware` leaves the default resolvers (strawberry's `_is_default`: no resolver of
  the field's own) out of the middleware chain. The optimizer's middleware only acts on
  an unevaluated QuerySet a resolver returns; a field with no resolver returns a column
  value, an already-prefetched relation, or a QuerySet that strawberry_django's own
  `get_queryset` has optimized already;
- `ColumnExecution` (the execution context's mixin) completes a column value where it
  reads it: graphql-core would build a resolve info and run the completion chain for
  each value of a leaf type, which does nothing for a loaded column but serialize it.
  A Django type's relay `id` is read the same way when it is the library's default
  (`node_id_attribute`): relay.Node's resolver builds a GlobalID through the whole
  chain, for a value that is the type's name and a column, base64-encoded.

tests/test_library_contract.py pins what this relies on inside the libraries.
"""

from functools import partial

from django.db.models.fields.related_descriptors import (
    ManyToManyDescriptor,
    ReverseManyToOneDescriptor,
)
from django.db.models.query_utils import DeferredAttribute
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
)
from graphql.execution.middleware import MiddlewareManager
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry_django.fields.base import StrawberryDjangoFieldBase
from strawberry_django.optimizer import is_optimized_by_prefetching
from strawberry_django.relay.utils import resolve_model_id

# Object type name -> field name -> (attribute, the leaf type's output coercion, nullable)
COLUMNS: dict[str, dict[str, tuple]] = {}


def column_attribute(field) -> str | None:
    """The model attribute a strawberry field reads when it is a column field, else None."""
    if not isinstance(field, StrawberryDjangoFieldBase):
        return None
    if field.base_resolver is not None or field.extensions or field.is_relation:
        return None
    django_type = field.origin_django_type
    if django_type is None:
        return None
    attribute = getattr(django_type.model, field.django_name or field.python_name, None)
    if type(attribute) is not DeferredAttribute:  # e.g. a FileDescriptor, a property
        return None
    return attribute.field.attname


def node_id_attribute(object_definition, field) -> str | None:
    """The model column of a Django type's relay `id` when it is the library's default:
    relay.Node's `id` resolver, strawberry_django's `resolve_id` (the NodeID column, by
    default the primary key) and relay.Node's `resolve_typename` (the GraphQL type's
    name)."""
    origin = getattr(object_definition, "origin", None)
    django_definition = getattr(origin, "__strawberry_django_definition__", None)
    if django_definition is None or not issubclass(origin, relay.Node):
        return None
    resolver = getattr(field, "base_resolver", None)
    if getattr(getattr(resolver, "wrapped_func", None), "__func__", None) is not _NODE_ID:
        return None
    if origin.resolve_id.__func__ is not resolve_model_id:
        return None
    if origin.resolve_typename.__func__ is not relay.Node.resolve_typename.__func__:
        return None
    model = django_definition.model
    name = origin.resolve_id_attr()
    if name == "pk":
        return model._meta.pk.attname
    attribute = getattr(model, name, None)
    return attribute.field.attname if type(attribute) is DeferredAttribute else None


_NODE_ID = relay.Node._id.__func__


def install(schema) -> None:
    """Column fields of `schema` (a strawberry schema) read their attribute directly."""
    backref = GraphQLCoreConverter.DEFINITION_BACKREF
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        object_definition = (graphql_type.extensions or {}).get(backref)
        for name, graphql_field in graphql_type.fields.items():
            if graphql_field.args:
                continue
            definition = (graphql_field.extensions or {}).get(backref)
            if attname := column_attribute(definition):
                return_type = graphql_field.type
                nullable = not isinstance(return_type, GraphQLNonNull)
                leaf_type = return_type if nullable else return_type.of_type
                column = (attname, leaf_type.coerce_output_value, nullable)
                graphql_field.resolve = _reader(attname)
            elif attname := node_id_attribute(object_definition, definition):
                # What relay.GlobalID(type name, str(id)) serializes to, in one step.
                column = (attname, partial(to_base64, graphql_type.name), False)
            else:
                continue
            COLUMNS.setdefault(graphql_type.name, {})[name] = column


def _reader(attname: str):
    def read_column(source, info):
        return getattr(source, attname)

    read_column._is_default = True  # strawberry's mark of a field without a resolver
    return read_column


class Middleware(MiddlewareManager):
    """Middleware for the resolvers that fields define; none for default resolvers."""

    def get_field_resolver(self, field_resolver):
        if is_default_resolver(field_resolver):
            return field_resolver
        return super().get_field_resolver(field_resolver)


class ColumnExecution:
    """Execution context mixin: values completed in place.

    - A column field's value is read and serialized where graphql-core executes it.
    - An object whose selection is made of columns, plain attributes, non-null objects
      and optimizer-prefetched relations of such (a list item's `{ slug name }`, an
      edge's `node`, a term's `relatedTerms`) is answered in one step, without
      graphql-core's per-field path, resolve info and completion chain; so is a list of
      such objects.

    Anything else, or a value that cannot be completed in place (an error, a null in a
    non-null field, a prefetch the optimizer did not make), takes graphql-core's own
    path, which reads it again and reports what it finds where it occurred. Plans are
    made once per selection: graphql-core collects a selection's fields once per type
    (collect_subfields) and keeps them alive for the whole execution, as the caches here
    do, so the id of a field list or grouped field set stays its own.
    """

    _selection_plans: dict | None = None
    _list_plans: dict | None = None

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, *args):
        steps = self._selection_plan(parent_type, grouped_field_set)
        if steps is not None:
            try:
                return _complete_fields(steps, source_value, self)
            except _NotInPlace:
                pass
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, *args)

    def execute_field(self, parent_type, source, field_details_list, path, *args):
        columns = COLUMNS.get(parent_type.name)
        column = columns and columns.get(field_details_list[0].node.name.value)
        if column:
            attname, coerce, nullable = column
            try:
                return _coerced(coerce, getattr(source, attname), nullable)
            except Exception:  # _NotInPlace included: reported by the general path below
                pass
        return super().execute_field(parent_type, source, field_details_list, path, *args)

    def complete_list_value(self, return_type, field_details_list, info, path, result, *args):
        plan = self._list_plan(return_type, field_details_list)
        if plan is not None and isinstance(result, list | tuple):
            try:
                return _complete_items(plan, result, self)
            except _NotInPlace:
                pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, *args
        )

    def note_object(self, object_type, grouped_field_set, source) -> None:
        """Called for each object completed in place inside another value, as
        execute_fields would be (glossary_backend.caching.SurrogateKeys names its keys)."""

    def note_list(self, list_type) -> None:
        """Called for each list completed in place inside another value, as
        complete_list_value would be."""

    def _selection_plan(self, object_type, grouped_field_set, depth=0):
        plans = self._selection_plans
        if plans is None:
            plans = self._selection_plans = {}
        cached = plans.get(id(grouped_field_set))
        if cached is None:
            steps = self._steps(object_type, grouped_field_set, depth)
            cached = plans[id(grouped_field_set)] = (grouped_field_set, steps)
        return cached[1]

    def _list_plan(self, list_type, field_details_list, depth=0):
        """(item nullable, the items' object plan) for a list of objects; None for an
        abstract or leaf item type, @stream, or items that do not complete in place."""
        plans = self._list_plans
        if plans is None:
            plans = self._list_plans = {}
        cached = plans.get(id(field_details_list))
        if cached is None:
            plan = None
            item_type = list_type.of_type
            item_nullable = not isinstance(item_type, GraphQLNonNull)
            object_type = item_type if item_nullable else item_type.of_type
            if isinstance(object_type, GraphQLObjectType) and not any(
                details.node.directives for details in field_details_list
            ):
                object_plan = self._object_plan(object_type, field_details_list, depth)
                if object_plan is not None:
                    plan = (item_nullable, object_plan)
            cached = plans[id(field_details_list)] = (field_details_list, plan)
        return cached[1]

    def _object_plan(self, object_type, field_details_list, depth):
        """(type, grouped field set, steps) of an object field's selection, or None."""
        grouped_field_set, new_defer_usages = self.collect_subfields(
            object_type, field_details_list
        )[:2]
        if new_defer_usages:
            return None
        steps = self._selection_plan(object_type, grouped_field_set, depth)
        return None if steps is None else (object_type, grouped_field_set, steps)

    def _steps(self, object_type, grouped_field_set, depth):
        """One step per selected field: a column, a plain attribute (a model property
        included), a non-null object or an optimizer-prefetched relation of such; None
        when any field is something else (a resolver of its own, arguments, a nullable
        object, which names keys when null) or the nesting is deep."""
        if depth > _MAX_PLAN_DEPTH:
            return None
        columns = COLUMNS.get(object_type.name, {})
        steps = []
        for response_name, details in grouped_field_set.items():
            field_name = details[0].node.name.value
            if field_name in columns:
                attname, coerce, nullable = columns[field_name]
                steps.append((response_name, _VALUE, attname, coerce, nullable, None))
                continue
            field = object_type.fields.get(field_name)
            if field is None or field.args:
                return None
            field_type = field.type
            nullable = not isinstance(field_type, GraphQLNonNull)
            named = field_type if nullable else field_type.of_type
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(named, GraphQLList):
                if nullable:
                    return None
                cache_name = prefetched_list(definition)
                if cache_name is not None:
                    items = self._list_plan(named, details, depth + 1)
                    if items is None:
                        return None
                    limit = declared_maximum(definition)
                    steps.append((response_name, _PREFETCHED, cache_name, limit, named, items))
                    continue
                attribute = plain_attribute(definition)
                leaf = _leaf_of(named)
                if attribute is None or leaf is None:
                    return None
                steps.append((response_name, _VALUES, attribute, *leaf, None))
                continue
            attribute = plain_attribute(definition)
            if attribute is None:
                return None
            if isinstance(named, GraphQLScalarType | GraphQLEnumType):
                coerce = named.coerce_output_value
                steps.append((response_name, _VALUE, attribute, coerce, nullable, None))
            elif isinstance(named, GraphQLObjectType) and not nullable:
                inner = self._object_plan(named, details, depth + 1)
                if inner is None:
                    return None
                steps.append((response_name, _OBJECT, attribute, None, False, inner))
            else:
                return None
        return tuple(steps)


# Objects nested in a list item completed in place (an edge's node, a term's related terms).
_MAX_PLAN_DEPTH = 3
# Kinds of plan steps.
_VALUE, _VALUES, _OBJECT, _PREFETCHED = range(4)


class _NotInPlace(Exception):
    """A value the in-place completion does not answer: the list goes graphql-core's way."""


def plain_attribute(definition) -> str | None:
    """The attribute a field reads when it only reads one: a plain (not Django) type's
    field with no resolver (an edge's `node` and `cursor`), or a Django type's field
    with no resolver, extension or relation naming a model property. Else None."""
    if definition is None:
        return None
    if not isinstance(definition, StrawberryDjangoFieldBase):
        return definition.python_name if definition.is_basic_field else None
    if definition.base_resolver is not None or definition.extensions or definition.is_relation:
        return None
    django_type = definition.origin_django_type
    name = definition.django_name or definition.python_name
    if django_type is None or not isinstance(getattr(django_type.model, name, None), property):
        return None
    return name


def prefetched_list(definition) -> str | None:
    """The prefetch cache name of a Django type's list relation with no resolver, filter,
    order or extension but a declared maximum (MaxItems), else None. The optimizer
    prefetches such a relation with the related type's visibility applied, as
    strawberry_django's own resolver reads it (resolve_base_manager)."""
    if not isinstance(definition, StrawberryDjangoFieldBase) or not definition.is_relation:
        return None
    if definition.base_resolver is not None or not definition.is_list:
        return None
    if any(not _is_max_items(extension) for extension in definition.extensions):
        return None
    django_type = definition.origin_django_type
    name = definition.django_name or definition.python_name
    descriptor = getattr(django_type.model, name, None) if django_type else None
    if isinstance(descriptor, ManyToManyDescriptor):
        relation = descriptor.rel.field
        return relation.related_query_name() if descriptor.reverse else relation.name
    if isinstance(descriptor, ReverseManyToOneDescriptor):
        return descriptor.field.remote_field.cache_name
    return None


def declared_maximum(definition) -> int | None:
    for extension in definition.extensions:
        if _is_max_items(extension):
            return extension.limit
    return None


def _is_max_items(extension) -> bool:
    from glossary_backend.cost import MaxItems  # cost imports the execution context

    return isinstance(extension, MaxItems) and extension.limit is not None


def _leaf_of(list_type):
    """(item coercion, item nullable) of a list of scalars or enums, else None."""
    item_type = list_type.of_type
    item_nullable = not isinstance(item_type, GraphQLNonNull)
    named = item_type if item_nullable else item_type.of_type
    if not isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return None
    return (named.coerce_output_value, item_nullable)


def _complete_items(items_plan, items, context) -> list:
    item_nullable, object_plan = items_plan
    completed = []
    for item in items:
        if item is None:
            if not item_nullable:
                raise _NotInPlace
            completed.append(None)
        else:
            completed.append(_complete_object(object_plan, item, context))
    return completed


def _complete_object(object_plan, source, context) -> dict:
    object_type, grouped_field_set, steps = object_plan
    # strawberry's and strawberry_django's is_type_of read the object, not the info.
    is_type_of = object_type.is_type_of
    if is_type_of is not None and not is_type_of(source, None):
        raise _NotInPlace
    context.note_object(object_type, grouped_field_set, source)
    return _complete_fields(steps, source, context)


def _complete_fields(steps, source, context) -> dict:
    """The fields of `source` by `steps`. Each step is (response name, kind, attribute,
    coerce, nullable, inner); a _PREFETCHED step holds (.., cache name, declared maximum,
    list type, items plan), a _VALUES step (.., coerce of an item, item nullable, None)."""
    results = {}
    try:
        for response_name, kind, attribute, coerce, nullable, inner in steps:
            if kind == _PREFETCHED:
                prefetched = source._prefetched_objects_cache[attribute]
                # Only what the optimizer prefetched has the related type's visibility.
                cached = prefetched._result_cache
                if cached is None or not is_optimized_by_prefetching(prefetched):
                    raise _NotInPlace
                context.note_list(nullable)
                items = cached if coerce is None else cached[:coerce]
                results[response_name] = _complete_items(inner, items, context)
                continue
            value = getattr(source, attribute)
            if kind == _OBJECT:
                if value is None:
                    raise _NotInPlace
                results[response_name] = _complete_object(inner, value, context)
            elif kind == _VALUES:
                if not isinstance(value, list | tuple):
                    raise _NotInPlace
                results[response_name] = [_coerced(coerce, item, nullable) for item in value]
            else:
                results[response_name] = _coerced(coerce, value, nullable)
    except _NotInPlace:
        raise
    except Exception as error:  # reported by graphql-core's path, which reads it again
        raise _NotInPlace from error
    return results


def _coerced(coerce, value, nullable):
    if value is None:
        if nullable:
            return None
        raise _NotInPlace
    coerced = coerce(value)
    if coerced is None or coerced is Undefined:
        raise _NotInPlace
    return coerced
