"""Staff-only export endpoints: /exports/<dataset>.<format>?quiz=&chapter=&since=&until=&bom="""

from django.http import StreamingHttpResponse
from django.utils import timezone

from analytics.exports import DATASETS, FORMATS
from analytics.filtersets import AttemptExportFilter
from analytics.statistics import ANALYTICS_PERMISSION
from analytics.tokens import api_permission_required
from glossary_backend.errors import bad_parameters, download_view, error_response
from quizzes.models import QuizAttempt


def streaming_export(
    dataset: str, fmt: str, chunks, filename_hint: str = ""
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    suffix = f"-{filename_hint}" if filename_hint else ""
    response["Content-Disposition"] = f'attachment; filename="{dataset}{suffix}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@download_view
@api_permission_required(ANALYTICS_PERMISSION)
def export(request, dataset: str, fmt: str):
    if dataset not in DATASETS or fmt not in FORMATS:
        return error_response(
            404,
            f"No such export: the datasets are {', '.join(DATASETS)}, "
            f"the formats {', '.join(FORMATS)}.",
        )
    unknown = sorted(set(request.GET) - {*AttemptExportFilter.base_filters, "bom"})
    if unknown:
        return bad_parameters({name: ["Unknown parameter."] for name in unknown})
    # Opt-in: a UTF-8 byte order mark for spreadsheets that need it to read UTF-8.
    bom = request.GET.get("bom", "0")
    if bom not in ("0", "1"):
        return bad_parameters({"bom": ["Use 1 or 0."]})
    # The filter starts from what the caller may see: a token never reads a draft's rows.
    filterset = AttemptExportFilter(
        request.GET, queryset=QuizAttempt.objects.all(), request=request
    )
    if not filterset.is_valid():
        return bad_parameters(filterset.errors)
    quiz = filterset.form.cleaned_data.get("quiz")
    hint = quiz.slug if quiz else ""
    chunks = filterset.export(dataset, fmt, bom=bom == "1")
    return streaming_export(dataset, fmt, chunks, hint)
