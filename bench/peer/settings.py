"""Settings of the graphene-django peer: the project's settings (same database, sessions,
middleware order), with graphene instead of strawberry and nothing the peer does not serve."""

from glossary_backend.settings import *  # noqa: F403
from glossary_backend.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    app
    for app in INSTALLED_APPS
    if app not in {"strawberry_django", "corsheaders", "axes", "django.contrib.admin"}
] + ["graphene_django"]
MIDDLEWARE = [
    "bench.peer.middleware.count_queries",
    *(
        layer
        for layer in MIDDLEWARE
        if not layer.startswith(("corsheaders.", "axes.", "glossary_backend.routers."))
    ),
]
# One database, no replicas: the replica router is strawberry's side of the comparison.
DATABASE_ROUTERS = []
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
ROOT_URLCONF = "bench.peer.urls"
GRAPHENE = {"SCHEMA": "bench.peer.schema.schema"}
