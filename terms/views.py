"""Public downloads of the published glossary: /exports/glossary.<format>?chapter=<slug>"""

from django.http import StreamingHttpResponse

from glossary_backend.errors import bad_parameters, download_view, error_response
from terms.exports import FORMATS, glossary_export, published_chapters

# Published content changes rarely and every copy of it is public.
EXPORT_MAX_AGE = 300


@download_view
def glossary_download(request, fmt: str):
    if fmt not in FORMATS:
        return error_response(
            404, f"No such format; the glossary downloads as {', '.join(FORMATS)}."
        )
    unknown = sorted(set(request.GET) - {"chapter"})
    if unknown:
        return bad_parameters({name: ["Unknown parameter."] for name in unknown})
    chapter_slug = request.GET.get("chapter")
    if chapter_slug is not None and not published_chapters(chapter_slug).exists():
        return bad_parameters({"chapter": ["No published chapter has this slug."]}, status=404)
    response = StreamingHttpResponse(glossary_export(fmt, chapter_slug), content_type=FORMATS[fmt])
    name = f"glossary-{chapter_slug}" if chapter_slug else "glossary"
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["Cache-Control"] = f"public, max-age={EXPORT_MAX_AGE}"
    return response
