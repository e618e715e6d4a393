"""What the code relies on inside Strawberry and graphql-core, beyond their documented API.

Each test names the dependency it pins: when an upgrade changes it, this file fails
first, with the reason, instead of a limit or an error code silently going away.
"""

import dataclasses
import inspect

from graphql import GraphQLError, GraphQLSchema, ValidationRule, parse, validate
from strawberry import relay
from strawberry.django.views import GraphQLView as StrawberryGraphQLView
from strawberry.extensions import MaskErrors
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from glossary_backend.schema import schema
from glossary_backend.security import ErrorPolicy, GraphQLView


def test_mask_errors_routes_every_result_through_process_errors():
    """ErrorPolicy adds codes by overriding MaskErrors._process_errors(errors)."""
    assert list(inspect.signature(MaskErrors._process_errors).parameters) == ["self", "errors"]
    assert "self._process_errors(" in inspect.getsource(MaskErrors), (
        "MaskErrors no longer calls _process_errors: ErrorPolicy's codes would vanish"
    )
    masked, kept = ErrorPolicy()._process_errors(
        [
            GraphQLError("boom", original_error=ValueError("secret")),
            GraphQLError("Unknown field.", extensions=None),
        ]
    )
    assert (masked.message, masked.extensions) == (
        "Unexpected error.",
        {"code": "INTERNAL_SERVER_ERROR"},
    )
    assert kept.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_depth_and_alias_validators_are_rule_factories():
    """validation_rules() builds its rules once with the create_validator factories."""
    depth_rule = depth_validator(2, should_ignore=None)
    alias_rule = alias_validator(1)
    assert issubclass(depth_rule, ValidationRule)
    assert issubclass(alias_rule, ValidationRule)
    graphql_schema = schema._schema
    deep = parse("{ chapters { edges { node { slug } } } }")
    aliased = parse("{ a: chapters { totalCount } b: chapters { totalCount } }")
    assert [e.message for e in validate(graphql_schema, deep, [depth_rule])] == [
        "'anonymous' exceeds maximum operation depth of 2"
    ]
    assert [e.message for e in validate(graphql_schema, aliased, [alias_rule])] == [
        "2 aliases found. Allowed: 1"
    ]


def test_schema_exposes_its_graphql_core_schema():
    """ConnectionArguments reads the execution context's schema._schema."""
    assert isinstance(schema._schema, GraphQLSchema)


def test_connection_cursor_prefix():
    """Cursors are checked against relay.types.PREFIX before strawberry decodes them."""
    assert relay.Edge.CURSOR_PREFIX == relay.types.PREFIX == "arrayconnection"


def test_view_hooks_we_override_still_exist():
    """GraphQLView overrides dispatch, decode_json and parse_http_body of the base view."""
    for name, parameters in [
        ("dispatch", ["self", "request", "args", "kwargs"]),
        ("decode_json", ["self", "data"]),
        ("parse_http_body", ["self", "request"]),
    ]:
        base = getattr(StrawberryGraphQLView, name)
        assert list(inspect.signature(base).parameters) == parameters, name
        assert getattr(GraphQLView, name) is not base


def test_surrogate_key_collection_hooks_exist():
    """glossary_backend.caching.SurrogateKeys overrides graphql-core's execute_fields
    (once per object, with the grouped field set fourth) and complete_list_value (the
    list type first); a rename would silently drop the keys."""
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext as ExecutionContext

    fields = list(inspect.signature(ExecutionContext.execute_fields).parameters)
    assert fields[:5] == ["self", "parent_type", "source_value", "path", "grouped_field_set"]
    lists = list(inspect.signature(ExecutionContext.complete_list_value).parameters)
    assert lists[:2] == ["self", "return_type"]


def test_a_document_set_in_on_parse_is_not_parsed_again():
    """TrustedDocumentParse sets graphql_document in on_parse: strawberry parses only
    when none is set, and its sync view lets create_response see the result."""
    from strawberry.schema import schema as strawberry_schema

    source = inspect.getsource(strawberry_schema._parse_operation_document)
    assert "if execution_context.graphql_document is not None:" in source
    from strawberry.http.sync_base_view import SyncBaseHTTPView

    assert "return self.create_response(" in inspect.getsource(SyncBaseHTTPView.run)


def test_column_field_hooks_exist():
    """glossary_backend.columns: strawberry_django marks its fields "not basic" (the cost
    it removes), strawberry marks fields without a resolver `_is_default` and builds its
    middleware in Schema._get_middleware_manager(extensions), and graphql-core's
    execute_field takes (parent_type, source, field_details_list, path, ...) and
    completes a leaf with its type's coerce_output_value."""
    from graphql import GraphQLString
    from graphql.execution.executor import Executor as CoreExecutionContext
    from strawberry.schema.schema import Schema as StrawberrySchema
    from strawberry.schema.schema_converter import GraphQLCoreConverter
    from strawberry_django.fields.base import StrawberryDjangoFieldBase

    assert StrawberryDjangoFieldBase.is_basic_field.fget(None) is False
    assert "._is_default = " in inspect.getsource(GraphQLCoreConverter.from_resolver)
    assert list(inspect.signature(StrawberrySchema._get_middleware_manager).parameters) == [
        "self",
        "extensions",
    ]
    assert list(inspect.signature(CoreExecutionContext.execute_field).parameters)[:5] == [
        "self",
        "parent_type",
        "source",
        "field_details_list",
        "path",
    ]
    assert "coerce_output_value(result)" in inspect.getsource(
        CoreExecutionContext.complete_leaf_value
    )
    assert GraphQLString.coerce_output_value("x") == "x"


def test_in_place_list_hooks_exist():
    """glossary_backend.columns completes lists in place: graphql-core's
    complete_list_value takes (return_type, field_details_list, info, path, result, ...)
    and collect_subfields memoizes (grouped field set, defer usages, ...) per selection
    for the whole execution; relay edges read `node` and `cursor` as plain attributes;
    strawberry_django marks the querysets its optimizer prefetched."""
    from graphql.execution.executor import Executor
    from strawberry_django.optimizer import is_optimized_by_prefetching

    assert list(inspect.signature(Executor.complete_list_value).parameters)[:6] == [
        "self",
        "return_type",
        "field_details_list",
        "info",
        "path",
        "result",
    ]
    assert "relevant_sub_fields[key] = (field_details_list, collected_fields)" in (
        inspect.getsource(Executor.collect_subfields)
    )
    edge = relay.Edge.__strawberry_definition__
    assert all(field.is_basic_field for field in edge.fields)
    assert callable(is_optimized_by_prefetching)


def test_the_optimizer_descends_into_resolvers_flagged_can_optimize():
    """Term.quizzes (quizzes.graphql.types) has a resolver that follows its field_name's
    relation, flagged `can_optimize` as strawberry-django's own default resolver is, so the
    optimizer prefetches it for every term of a list at once."""
    from strawberry_django import optimizer

    assert '"can_optimize"' in inspect.getsource(optimizer), (
        "the optimizer no longer reads can_optimize: Term.quizzes would cost a query per term"
    )


def test_the_optimizer_internals_plans_use():
    """glossary_backend.plans works out a field's plan as `optimize` does (its concrete
    types, each one's hints from `_get_model_hints`, OR-ed into a store that `apply`
    applies) and mirrors the extension's `resolve` and `optimize` with the same
    configuration. A change to any of these is a change plans must follow."""
    from strawberry_django import optimizer

    source = inspect.getsource(optimizer.optimize)
    for step in (
        "get_possible_concrete_types(",
        "new_store = _get_model_hints(",
        "store |= new_store",
        "qs = store.apply(qs, info=info, config=config)",
        "qs_config.optimized = True",
    ):
        assert step in source, f"optimize() no longer does {step!r}"
    assert list(inspect.signature(optimizer._get_model_hints).parameters)[:6] == [
        "model", "schema", "object_definition", "parent_type", "info", "config",
    ]  # fmt: skip
    resolve = inspect.getsource(optimizer.DjangoOptimizerExtension.resolve)
    assert "ret = django_fetch(optimize(qs=ret, info=info, config=config))" in resolve
    assert "enable_nested_relations_prefetch=self.enable_nested_relations_prefetch" in resolve
    configured = inspect.getsource(optimizer.DjangoOptimizerExtension.optimize)
    assert "enable_nested_relations_prefetch" not in configured
    assert {field.name for field in dataclasses.fields(optimizer.OptimizerConfig)} == {
        "enable_only", "enable_select_related", "enable_prefetch_related", "enable_annotate",
        "enable_nested_relations_prefetch", "prefetch_custom_queryset",
    }  # fmt: skip
