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

from django.db.models.query_utils import DeferredAttribute
from graphql import GraphQLNonNull, GraphQLObjectType, Undefined
from graphql.execution.middleware import MiddlewareManager
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry_django.fields.base import StrawberryDjangoFieldBase
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
