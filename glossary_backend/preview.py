"""Preview tokens: a frontend shows one unpublished chapter, term or quiz before it goes
live.

A token is signed (django.core.signing, its own salt), names one object by type and
primary key, expires (PREVIEW_TOKEN_MINUTES by default, MAX_PREVIEW_MINUTES at most),
and carries its minter and the generation of their PreviewKey: raising the generation
revokes every token they minted. A request with `X-Preview-Token` is answered as an
anonymous caller who may also see that object as if it were published (the visibility
QuerySets read `user.preview`); a bad token is HTTP 401 with a coded JSON error.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.db import models
from django.db.models import F
from django.http import JsonResponse
from django.utils.cache import patch_vary_headers

from quizzes.models import Quiz
from terms.models import Chapter, PreviewKey, Term

HEADER = "X-Preview-Token"
MAX_PREVIEW_MINUTES = 24 * 60
SALT = "glossary.preview"
PREVIEWABLE: dict[str, type[models.Model]] = {"chapter": Chapter, "term": Term, "quiz": Quiz}


class PreviewTokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Preview:
    model: type[models.Model]
    pk: int


class PreviewViewer(AnonymousUser):
    """An anonymous caller holding a preview grant for one object."""

    def __init__(self, preview: Preview):
        super().__init__()
        self.preview = preview


def _generation(user) -> int:
    return PreviewKey.objects.filter(user=user).values_list("generation", flat=True).first() or 0


def preview_token_mint(*, obj: models.Model, user, minutes: int | None = None) -> str:
    """A token for `obj`, minted by `user`, valid `minutes` (the setting by default).
    Raises ValueError for a duration outside 1 minute to 24 hours or an object that
    cannot be previewed."""
    minutes = settings.PREVIEW_TOKEN_MINUTES if minutes is None else minutes
    if not 1 <= minutes <= MAX_PREVIEW_MINUTES:
        raise ValueError(f"A preview token lives 1 to {MAX_PREVIEW_MINUTES} minutes.")
    kind = next((kind for kind, model in PREVIEWABLE.items() if isinstance(obj, model)), None)
    if kind is None:
        raise ValueError(f"{obj._meta.verbose_name} cannot be previewed.")
    payload = {
        "type": kind,
        "pk": obj.pk,
        "user": user.pk,
        "generation": _generation(user),
        "expires": int(time.time()) + minutes * 60,
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def preview_tokens_revoke(*, user) -> None:
    """Every preview token `user` minted so far stops working."""
    key, _ = PreviewKey.objects.get_or_create(user=user)
    PreviewKey.objects.filter(pk=key.pk).update(generation=F("generation") + 1)


def preview_token_read(token: str) -> Preview:
    """The grant a token carries; raises PreviewTokenError (PREVIEW_TOKEN_INVALID for a
    forged, malformed or revoked token, or one whose object or minter's right to change
    it is gone; PREVIEW_TOKEN_EXPIRED after its time)."""
    invalid = PreviewTokenError("PREVIEW_TOKEN_INVALID", "The preview token is not valid.")
    try:
        payload = signing.loads(token, salt=SALT)
        kind, pk, user_id = payload["type"], payload["pk"], payload["user"]
        generation, expires = payload["generation"], payload["expires"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise invalid from None
    model = PREVIEWABLE.get(kind)
    if model is None or not all(isinstance(n, int) for n in (pk, user_id, generation, expires)):
        raise invalid
    if expires <= time.time():
        raise PreviewTokenError("PREVIEW_TOKEN_EXPIRED", "The preview token has expired.")
    user = get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).first()
    if (
        user is None
        or _generation(user) != generation
        or not user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
        or not model._base_manager.filter(pk=pk).exists()
    ):
        raise invalid
    return Preview(model=model, pk=pk)


class PreviewTokenMiddleware:
    """Turns a request's `X-Preview-Token` into a PreviewViewer (after authentication, so
    that a staff session does not widen a preview), refuses bad tokens with 401, and
    keeps preview answers out of every shared cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request.headers.get(HEADER)
        if token is None or request.path.startswith("/admin/"):
            return self.get_response(request)
        try:
            preview = preview_token_read(token)
        except PreviewTokenError as error:
            response = JsonResponse(
                {"errors": [{"message": error.message, "extensions": {"code": error.code}}]},
                status=401,
            )
        else:
            request.user = PreviewViewer(preview)
            response = self.get_response(request)
        response["Cache-Control"] = "private, no-store"
        patch_vary_headers(response, [HEADER])
        return response
