"""The pages around the API: what a person opening the server in a browser finds."""

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import render
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
