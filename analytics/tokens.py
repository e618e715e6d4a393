"""Personal API tokens: an analyst's scripts read analytics without a password or session.

- `api_token_create` makes a token for a user: `glb_` and 43 random URL-safe characters
  (256 bits). The database keeps its first characters (`prefix`, to recognise it) and an
  HMAC-SHA256 of it keyed with SECRET_KEY (`digest`, unique): a leaked table or backup
  holds no usable token, and checking one is a single indexed lookup. (A slow password
  hash buys nothing against 256 random bits; rotating SECRET_KEY retires every token.)
- `api_token_authenticate` turns `Authorization: Bearer <token>` into a `TokenBearer`
  for the views wrapped with `bearer_token_auth` (the GraphQL endpoint and the exports):
  an anonymous-like user that holds only the permissions of the token's scopes its owner
  still has. Never a login, a session, staff or superuser: the admin ignores tokens.
- Bad, expired or revoked tokens, and tokens without the scope a path needs, get HTTP 401
  with a coded JSON error and `WWW-Authenticate: Bearer` (RFC 6750).
- `api_permission_required` guards the views API clients call (the exports) in the same
  terms: no session and no token is a 401 with the challenge, a session or token without
  the permission a 403; both with a coded JSON error, never the HTML error pages.
"""

import datetime
import re
import secrets
from functools import wraps

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.crypto import salted_hmac

from analytics.models import ApiToken
from analytics.statistics import ANALYTICS_PERMISSION
from glossary_backend.errors import error_response

TOKEN_PREFIX = "glb_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
TOKEN_PATTERN = re.compile(rf"^{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}$")
HMAC_SALT = "analytics.api_token"
# What each scope lets a token do, as the Django permissions its owner must also hold.
SCOPE_PERMISSIONS = {ApiToken.Scope.ANALYTICS_READ: ANALYTICS_PERMISSION}
DEFAULT_DAYS = 90
# last_used_at is written at most this often per token, not on every request.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


class ApiTokenError(Exception):
    def __init__(self, code: str, message: str, error: str | None = "invalid_token"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.error = error  # RFC 6750's error code, for WWW-Authenticate; None: no credentials


def token_digest(token: str) -> str:
    """The keyed hash stored for `token` (and looked up when it is presented)."""
    return salted_hmac(HMAC_SALT, token, algorithm="sha256").hexdigest()


@transaction.atomic
def api_token_create(
    *, user, name: str, scopes: list[str], expires_at: datetime.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token of `user`, saved, and the token itself: the only time it exists outside
    its holder's hands. Raises ValidationError for a blank name, unknown or no scopes, or an
    expiry in the past or more than ApiToken.MAX_DAYS away (DEFAULT_DAYS when omitted)."""
    now = timezone.now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(
        user=user,
        name=name,
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=expires_at or now + datetime.timedelta(days=DEFAULT_DAYS),
        prefix=token[:PREFIX_LENGTH],
        digest=token_digest(token),
    )
    api_token.full_clean()
    api_token.save()
    return api_token, token


def api_tokens_revoke(*, tokens) -> int:
    """Revokes the tokens of the `tokens` QuerySet not revoked yet; how many it revoked."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class TokenBearer(AnonymousUser):
    """A request authenticated by an API token: its owner's permissions, cut down to the
    token's scopes. Not staff, not a superuser, no model instance to save or log in."""

    is_active = True  # its owner is: inactive owners' tokens are refused

    def __init__(self, token: ApiToken, permissions: frozenset[str]):
        super().__init__()
        self.token = token
        self.permissions = permissions

    def __str__(self):
        return f"{self.token.user.get_username()} (token {self.token.prefix}…)"

    @property
    def is_anonymous(self):
        return False

    @property
    def is_authenticated(self):
        return True

    def get_all_permissions(self, obj=None):
        return set(self.permissions)

    def has_perm(self, perm, obj=None):
        return perm in self.permissions

    def has_module_perms(self, module):
        return any(perm.startswith(f"{module}.") for perm in self.permissions)


def api_token_authenticate(token: str, *, scope: str) -> TokenBearer:
    """The bearer of `token` for a path that needs `scope`; raises ApiTokenError
    (API_TOKEN_INVALID for a malformed or unknown token or an inactive owner,
    API_TOKEN_REVOKED, API_TOKEN_EXPIRED, API_TOKEN_INSUFFICIENT_SCOPE when the token lacks
    the scope or its owner the permission behind it). One indexed lookup, and a write of
    last_used_at at most once a minute."""
    invalid = ApiTokenError("API_TOKEN_INVALID", "The API token is not valid.")
    if not TOKEN_PATTERN.match(token):
        raise invalid
    api_token = ApiToken.objects.select_related("user").filter(digest=token_digest(token)).first()
    if api_token is None or not api_token.user.is_active:
        raise invalid
    if api_token.revoked_at is not None:
        raise ApiTokenError("API_TOKEN_REVOKED", "The API token has been revoked.")
    now = timezone.now()
    if api_token.expires_at <= now:
        raise ApiTokenError("API_TOKEN_EXPIRED", "The API token has expired.")
    permissions = frozenset(
        permission
        for name, permission in SCOPE_PERMISSIONS.items()
        if name in api_token.scopes and api_token.user.has_perm(permission)
    )
    if SCOPE_PERMISSIONS.get(scope) not in permissions:
        raise ApiTokenError(
            "API_TOKEN_INSUFFICIENT_SCOPE",
            f"The API token does not grant {scope} (or its owner no longer may).",
            error="insufficient_scope",
        )
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        api_token.last_used_at = now
    return TokenBearer(api_token, permissions)


def _error(code: str, message: str, status: int) -> JsonResponse:
    response = error_response(status, message, code)
    response["Cache-Control"] = "private, no-store"
    return response


def _refusal(error: ApiTokenError, scope: str) -> JsonResponse:
    challenge = f'Bearer realm="glossary", scope="{scope}"'
    if error.error is not None:
        description = error.message.replace('"', "'")
        challenge += f', error="{error.error}", error_description="{description}"'
    response = _error(error.code, error.message, 401)
    response["WWW-Authenticate"] = challenge
    return response


def api_permission_required(permission: str, *, scope: str = ApiToken.Scope.ANALYTICS_READ):
    """Wraps a view API clients call: a caller without a session or a token gets 401
    (UNAUTHENTICATED, with the Bearer challenge for `scope`), one whose session or token
    lacks `permission` 403 (FORBIDDEN). Place it inside bearer_token_auth, which has
    already put a token's bearer in request.user."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                # No credentials at all: a challenge without an error code (RFC 6750, 3.1).
                missing = ApiTokenError(
                    "UNAUTHENTICATED",
                    "Sign in, or send an API token: Authorization: Bearer <token>.",
                    error=None,
                )
                response = _refusal(missing, scope)
            elif not request.user.has_perm(permission):
                response = _error(
                    "FORBIDDEN", "This account may not read this; ask for the permission.", 403
                )
            else:
                return view(request, *args, **kwargs)
            patch_vary_headers(response, ["Cookie", "Authorization"])
            return response

        return wrapped

    return decorate


def bearer_token_auth(view=None, *, scope: str = ApiToken.Scope.ANALYTICS_READ):
    """Wraps a view so that a request with `Authorization: Bearer <token>` is answered for
    the token's bearer (a TokenBearer replaces the session's user) or refused with 401.
    Requests without the header are left alone. Answers to requests with the header are
    never stored by shared caches."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            header = request.headers.get("Authorization")
            if header is None:
                return view(request, *args, **kwargs)
            scheme, _, token = header.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise ApiTokenError(
                        "API_TOKEN_INVALID",
                        "Send an API token as: Authorization: Bearer <token>.",
                        error="invalid_request",
                    )
                request.user = api_token_authenticate(token.strip(), scope=scope)
            except ApiTokenError as error:
                response = _refusal(error, scope)
            else:
                response = view(request, *args, **kwargs)
            response["Cache-Control"] = "private, no-store"
            patch_vary_headers(response, ["Authorization"])
            return response

        return wrapped

    return decorate(view) if view is not None else decorate
