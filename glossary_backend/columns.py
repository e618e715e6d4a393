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

tests/test_library_contract.py pins what this relies on inside the libraries.
"""

from django.db.models.query_utils import DeferredAttribute
from graphql import GraphQLNonNull, Undefined
from graphql.execution.middleware import MiddlewareManager
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry_django.fields.base import StrawberryDjangoFieldBase

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


def install(schema) -> None:
    """Column fields of `schema` (a strawberry schema) read their attribute directly."""
    for graphql_type in schema._schema.type_map.values():
        for name, graphql_field in getattr(graphql_type, "fields", {}).items():
            definition = (graphql_field.extensions or {}).get(
                GraphQLCoreConverter.DEFINITION_BACKREF
            )
            attname = column_attribute(definition)
            if attname is None or graphql_field.args:
                continue
            graphql_field.resolve = _reader(attname)
            return_type = graphql_field.type
            nullable = not isinstance(return_type, GraphQLNonNull)
            leaf_type = return_type if nullable else return_type.of_type
            COLUMNS.setdefault(graphql_type.name, {})[name] = (
                attname,
                leaf_type.coerce_output_value,
                nullable,
            )


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
    """Execution context mixin: a column field's value is read and serialized in place."""

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
            except Exception:
                pass
        # Everything else, and a column whose read or value is an error: graphql-core's
        # path, which reads it again and reports the error where it occurred.
        return super().execute_field(parent_type, source, field_details_list, path, *args)
