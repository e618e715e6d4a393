"""The one GraphQL schema: composes the apps' types and Query classes, installs the optimizer.

The apps depend one way (terms <- quizzes <- analytics); the fields a downstream app
adds to an upstream app's type are composed here, so the upstream app never imports it.
"""

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import StrawberryObjectDefinition

from analytics.graphql.schema import StaffQuery as AnalyticsStaffQuery
from analytics.graphql.types import ChapterAnalyticsFields, TermAnalyticsFields
from delivery.graphql.schema import Query as DeliveryQuery
from glossary_backend import columns
from glossary_backend.cost import OperationCost
from glossary_backend.graphql import MAX_PAGE_SIZE, SCALAR_OVERRIDES, extend_type, parse_global_id
from glossary_backend.plans import PlannedOptimizer
from glossary_backend.routers import ReplicaReads
from glossary_backend.security import ErrorPolicy, ExecutionContext, operation_limits
from quizzes.graphql.mutations import Mutation as QuizzesMutation
from quizzes.graphql.schema import Query as QuizzesQuery
from quizzes.graphql.types import ChapterQuizFields, TermQuizFields
from terms.graphql.schema import Query as TermsQuery
from terms.graphql.types import ChapterType, TermType

# Placed where the published schema has always had them (schema.graphql is the contract).
extend_type(ChapterType, ChapterQuizFields, after="terms")
extend_type(ChapterType, ChapterAnalyticsFields)
extend_type(TermType, TermAnalyticsFields, after="published_at")
extend_type(TermType, TermQuizFields)


@strawberry.type
class Query(TermsQuery, QuizzesQuery, AnalyticsStaffQuery, DeliveryQuery):
    @strawberry.field(
        description="Any object by its global ID; null when the ID is malformed, of no "
        "type here, unknown or hidden, all alike."
    )
    def node(self, info: strawberry.Info, id: strawberry.ID) -> relay.Node | None:
        try:
            type_name, pk = parse_global_id(id)
        except ValueError:
            return None
        definition = info.schema.get_type_by_name(type_name)
        if not (
            isinstance(definition, StrawberryObjectDefinition)
            and not definition.is_interface
            and issubclass(definition.origin, relay.Node)
        ):
            return None  # no such type, or an interface such as Node itself
        return relay.GlobalID(type_name, str(pk)).resolve_node_sync(info)


@strawberry.type
class Mutation(QuizzesMutation):
    pass


class Schema(strawberry.Schema):
    def _get_middleware_manager(self, extensions):
        # Strawberry wraps every field's resolver in the extensions' `resolve` hooks;
        # the fields without a resolver of their own need none (glossary_backend.columns).
        return columns.Middleware(*(ext for ext in extensions if ext._implements_resolve()))

    def process_errors(self, errors, execution_context=None) -> None:
        # Client errors are answers, not incidents; ErrorPolicy logs the unexpected ones,
        # with their traceback, as it masks them.
        return


schema = Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        *operation_limits(),
        OperationCost,
        ErrorPolicy,
        ReplicaReads,
        PlannedOptimizer,
    ],
    config=StrawberryConfig(relay_max_results=MAX_PAGE_SIZE),
    execution_context_class=ExecutionContext,
    scalar_overrides=SCALAR_OVERRIDES,
)
columns.install(schema)
