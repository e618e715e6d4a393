"""Read replicas: anonymous GraphQL queries read from a replica, everything else from the
primary.

`DATABASE_REPLICA_URLS` (settings.py) adds the aliases "replica1", "replica2"...
`ReplicaRoutingMiddleware` decides once per request whether its reads may go to a
replica: only a GraphQL request from an anonymous caller, without a preview token and
without the pin cookie. `ReplicaReads` (a schema extension) takes a mutation back to the
primary before it runs. Reads inside a transaction, and every read after the request's
first write, go to the primary too, and a request that wrote sets the pin cookie for
`DATABASE_REPLICA_PIN_SECONDS`: the client's next requests read its own writes on the
primary until a replica has replayed them. The admin, staff, previews, exports and
commands never leave the primary.

A replica that cannot be connected to is skipped for `DATABASE_REPLICA_RETRY_SECONDS`:
its requests read from the primary, so the site keeps answering while it is down.
"""

import contextvars
import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

logger = logging.getLogger(__name__)

PIN_COOKIE = "glossary_primary"
GRAPHQL_PATH = "/graphql"


@dataclass
class Route:
    replica_allowed: bool
    wrote: bool = False


_route: contextvars.ContextVar[Route | None] = contextvars.ContextVar("route", default=None)
# Replica alias -> monotonic time before which it is not tried again.
_down_until: dict[str, float] = {}


def replicas() -> list[str]:
    """The aliases of the configured replicas."""
    return [alias for alias in settings.DATABASES if settings.DATABASES[alias].get("REPLICA_OF")]


def _usable(alias: str) -> bool:
    if _down_until.get(alias, 0) > time.monotonic():
        return False
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError:
        logger.warning("Replica %s is unreachable: reading from the primary.", alias)
        _down_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
        return False
    _down_until.pop(alias, None)
    return True


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        route = _route.get()
        if route is None or not route.replica_allowed or route.wrote:
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        candidates = replicas()
        random.shuffle(candidates)
        for alias in candidates:
            if _usable(alias):
                return alias
        return None

    def db_for_write(self, model, **hints):
        route = _route.get()
        if route is not None:
            route.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if settings.DATABASES[db].get("REPLICA_OF"):
            return False
        return None


class ReplicaRoutingMiddleware:
    """Decides whether the request's reads may go to a replica; pins a client that wrote."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        allowed = bool(replicas()) and self._replica_allowed(request)
        route = Route(replica_allowed=allowed)
        token = _route.set(route)
        try:
            response = self.get_response(request)
        finally:
            _route.reset(token)
        if route.wrote and replicas():
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
        return response

    @staticmethod
    def _replica_allowed(request) -> bool:
        if request.path.rstrip("/") != GRAPHQL_PATH or PIN_COOKIE in request.COOKIES:
            return False
        user = request.user
        return not user.is_authenticated and getattr(user, "preview", None) is None


class ReplicaReads(SchemaExtension):
    """A mutation reads what it is about to change on the primary."""

    def on_execute(self):
        route = _route.get()
        if route is not None and self.execution_context.operation_type != OperationType.QUERY:
            route.replica_allowed = False
        yield
