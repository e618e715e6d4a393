"""The pages around the API: what a person opening the server in a browser finds."""

from django.conf import settings
from django.contrib import admin
from django.http import FileResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe


@require_safe
def landing(request):
    """`/`: where the admin, the API and the README are, instead of a 404."""
    return render(request, "landing.html", {"graphiql": settings.DEBUG})


@require_safe
def readme(request):
    """The project's README, as the text it is."""
    return FileResponse(
        (settings.BASE_DIR / "README.md").open("rb"), content_type="text/markdown; charset=utf-8"
    )


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the admin's login page saying for how
    long, and when to try again, with HTTP 429 and Retry-After."""
    from axes.helpers import get_cool_off, get_failure_limit

    cool_off = get_cool_off(request)
    retry_at = timezone.now() + cool_off if cool_off else None
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "failure_limit": get_failure_limit(request, credentials),
        "cool_off_minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
        "retry_at": retry_at,
        "password_reset": True,
    }
    response = render(request, "admin/locked_out.html", context, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
