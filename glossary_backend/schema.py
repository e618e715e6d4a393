"""The one GraphQL schema: merges the apps' Query classes and installs the optimizer."""

import strawberry
import strawberry_django
from strawberry import relay
from strawberry.schema.config import StrawberryConfig
from strawberry_django.optimizer import DjangoOptimizerExtension

from glossary_backend.graphql import MAX_PAGE_SIZE
from glossary_backend.security import ErrorPolicy, operation_limits
from quizzes.graphql.mutations import Mutation as QuizzesMutation
from quizzes.graphql.schema import Query as QuizzesQuery
from quizzes.graphql.schema import StaffQuery as QuizzesStaffQuery
from terms.graphql.schema import Query as TermsQuery


@strawberry.type
class Query(TermsQuery, QuizzesQuery, QuizzesStaffQuery):
    node: relay.Node | None = strawberry_django.node(
        description="Any object by its global ID, or null if it does not exist or is hidden."
    )


@strawberry.type
class Mutation(QuizzesMutation):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[*operation_limits(), ErrorPolicy, DjangoOptimizerExtension],
    config=StrawberryConfig(relay_max_results=MAX_PAGE_SIZE, disable_field_suggestions=True),
)
