from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from glossary_backend.schema import schema
from glossary_backend.security import GraphQLView
from glossary_backend.views import landing, readme
from quizzes.views import export

admin.site.site_header = "Glossary administration"
admin.site.site_title = "Glossary admin"
admin.site.site_url = settings.FRONTEND_URL or "/"

urlpatterns = [
    path("", landing, name="landing"),
    path("README.md", readme, name="readme"),
    path("admin/", admin.site.urls),
    re_path(r"^exports/(?P<dataset>[a-z]+)\.(?P<fmt>[a-z]+)$", export, name="export"),
    # Frontends call the API cross-origin without cookies, so there is no CSRF token to
    # check; staff sessions only widen what reads return.
    path(
        "graphql",
        csrf_exempt(
            GraphQLView.as_view(schema=schema, graphql_ide="graphiql" if settings.DEBUG else None)
        ),
        name="graphql",
    ),
]
