from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView

# The project's /graphql accepts JSON without a CSRF token too (see glossary_backend/security.py).
urlpatterns = [path("graphql", csrf_exempt(GraphQLView.as_view()))]
