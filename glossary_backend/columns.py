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
    """Execution context mixin: a column field's value is read and serialized in place,
    and an object whose selected fields are all columns (a list's `{ slug name }`) is
    answered in one step, without graphql-core's per-field path, resolve info and
    completion. Anything else, or a value that cannot be completed in place (an error, a
    null in a non-null field), takes graphql-core's own path, which reads it again and
    reports what it finds where it occurred."""

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, *args):
        reads = self._column_reads(parent_type, grouped_field_set)
        if reads:
            results = {}
            try:
                for response_name, (attname, coerce, nullable) in reads:
                    value = getattr(source_value, attname)
                    if value is None:
                        if not nullable:
                            break
                        results[response_name] = None
                        continue
                    coerced = coerce(value)
                    if coerced is None or coerced is Undefined:
                        break
                    results[response_name] = coerced
                else:
                    return results
            except Exception:  # reported by the general path below
                pass
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, *args)

    _column_reads_cache: dict | None = None
    _list_plans: dict | None = None

    def complete_list_value(self, return_type, field_details_list, info, path, result, *args):
        plan = self._list_plan(return_type, field_details_list)
        if plan is not None and isinstance(result, list | tuple):
            try:
                completed = _complete_items(plan, result, info, self)
            except _NotInPlace:
                pass
            else:
                return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, *args
        )

    def note_object(self, object_type, grouped_field_set, source) -> None:
        """Called for each object completed in place, as execute_fields would be
        (glossary_backend.caching.SurrogateKeys names its keys)."""

    def note_list(self, list_type) -> None:
        """Called for each list completed in place inside another one, as
        complete_list_value would be."""

    def _list_plan(self, return_type, field_details_list):
        """How the items of a list complete in place, once per list field and selection;
        None when they cannot."""
        plans = self._list_plans
        if plans is None:
            plans = self._list_plans = {}
        key = id(field_details_list)
        cached = plans.get(key)
        if cached is None:
            cached = plans[key] = (
                field_details_list,
                self._items_plan(return_type, field_details_list, depth=0),
            )
        return cached[1]

    def _items_plan(self, list_type, field_details_list, depth):
        """(item nullable, the items' object plan) for a list of objects; None for an
        abstract or leaf item type, @stream, or items that do not complete in place."""
        if any(details.node.directives for details in field_details_list):
            return None
        item_type = list_type.of_type
        item_nullable = not isinstance(item_type, GraphQLNonNull)
        object_type = item_type if item_nullable else item_type.of_type
        if not isinstance(object_type, GraphQLObjectType):
            return None
        object_plan = self._object_plan(object_type, field_details_list, depth)
        return None if object_plan is None else (item_nullable, object_plan)

    def _object_plan(self, object_type, field_details_list, depth):
        """(type, selection, steps): one step per selected field, each a column, a plain
        attribute (a model property included), an object or a prefetched relation of
        such; None when any field is something else (a resolver of its own, arguments,
        a nullable object, which names keys when null) or the nesting is deep."""
        if depth > _MAX_PLAN_DEPTH:
            return None
        grouped_field_set, new_defer_usages = self.collect_subfields(
            object_type, field_details_list
        )[:2]
        if new_defer_usages:
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
                    items = self._items_plan(named, details, depth + 1)
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
                steps.append(
                    (response_name, _VALUE, attribute, named.coerce_output_value, nullable, None)
                )
            elif isinstance(named, GraphQLObjectType) and not nullable:
                inner = self._object_plan(named, details, depth + 1)
                if inner is None:
                    return None
                steps.append((response_name, _OBJECT, attribute, None, False, inner))
            else:
                return None
        return (object_type, grouped_field_set, tuple(steps))

    def _column_reads(self, parent_type, grouped_field_set) -> list | None:
        """(response name, column) of each field when all of them are columns, else None;
        once per selection. graphql-core collects a selection's fields once per type
        (collect_subfields) and keeps them alive for the whole execution, as does the
        cache here, so the id of a grouped field set stays its own."""
        cache = self._column_reads_cache
        if cache is None:
            cache = self._column_reads_cache = {}
        cached = cache.get(id(grouped_field_set))
        if cached is None:
            columns = COLUMNS.get(parent_type.name, {})
            reads = [
                (response_name, columns.get(details[0].node.name.value))
                for response_name, details in grouped_field_set.items()
            ]
            if not reads or not all(column for _, column in reads):
                reads = None
            cached = cache[id(grouped_field_set)] = (grouped_field_set, reads)
        return cached[1]

    def execute_field(self, parent_type, source, field_details_list, path, *args):
        columns = COLUMNS.get(parent_type.name)
        column = columns and columns.get(field_details_list[0].node.name.value)
        if column:
            attname, coerce, nullable = column
            try:
                value = getattr(source, attname)
                if value is None:
                    if nullable:
                        return None
                else:
                    coerced = coerce(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # reported by the general path below
                pass
        return super().execute_field(parent_type, source, field_details_list, path, *args)


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


def _complete_items(items_plan, items, info, context) -> list:
    item_nullable, object_plan = items_plan
    completed = []
    for item in items:
        if item is None:
            if not item_nullable:
                raise _NotInPlace
            completed.append(None)
        else:
            completed.append(_complete_object(object_plan, item, info, context))
    return completed


def _complete_object(object_plan, source, info, context) -> dict:
    object_type, grouped_field_set, steps = object_plan
    is_type_of = object_type.is_type_of
    if is_type_of is not None and not is_type_of(source, info):
        raise _NotInPlace
    context.note_object(object_type, grouped_field_set, source)
    results = {}
    try:
        for response_name, kind, attribute, coerce, nullable, inner in steps:
            if kind == _PREFETCHED:
                # coerce is the declared maximum here, nullable the list type
                prefetched = source._prefetched_objects_cache[attribute]
                # Only what the optimizer prefetched has the related type's visibility.
                cached = prefetched._result_cache
                if cached is None or not is_optimized_by_prefetching(prefetched):
                    raise _NotInPlace
                context.note_list(nullable)
                items = cached if coerce is None else cached[:coerce]
                results[response_name] = _complete_items(inner, items, info, context)
                continue
            value = getattr(source, attribute)
            if kind == _OBJECT:
                if value is None:
                    raise _NotInPlace
                results[response_name] = _complete_object(inner, value, info, context)
            elif kind == _VALUES:
                # coerce, item nullable (the list itself is non-null)
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
