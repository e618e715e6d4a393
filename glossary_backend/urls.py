from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from analytics.tokens import bearer_token_auth
from analytics.views import export
from glossary_backend import admin as site_admin  # noqa: F401  (registers the site's admin)
from glossary_backend.schema import schema
from glossary_backend.security import GraphQLView
from glossary_backend.views import landing, readme
from terms.views import glossary_download

urlpatterns = [
    path("", landing, name="landing"),
    path("README.md", readme, name="readme"),
    path("admin/", admin.site.urls),
    # Public content downloads; before the staff analytics exports, whose pattern is wider.
    # An analyst's API token (Authorization: Bearer) works on the exports and the API, never
    # in the admin.
    re_path(
        r"^exports/glossary\.(?P<fmt>[a-z]+)$",
        bearer_token_auth(glossary_download),
        name="glossary-download",
    ),
    re_path(
        r"^exports/(?P<dataset>[a-z]+)\.(?P<fmt>[a-z]+)$", bearer_token_auth(export), name="export"
    ),
    # Frontends call the API cross-origin without cookies, so there is no CSRF token to
    # check; staff sessions only widen what reads return.
    path(
        "graphql",
        csrf_exempt(
            bearer_token_auth(
                GraphQLView.as_view(
                    schema=schema, graphql_ide="graphiql" if settings.DEBUG else None
                )
            )
        ),
        name="graphql",
    ),
]
