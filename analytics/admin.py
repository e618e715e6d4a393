"""What analytics adds to the quiz and glossary admin: the quiz dashboard, its links, the
attempts export action and the terms' miss-rate column. Added as extensions of the
quizzes and terms apps' ModelAdmins, which stay theirs."""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from analytics.charts import bar_chart
from analytics.exports import export_chunks
from analytics.filtersets import AttemptExportFilter
from analytics.statistics import (
    ANALYTICS_PERMISSION,
    quiz_analytics,
    score_distribution,
    term_miss_rate,
)
from analytics.views import streaming_export
from glossary_backend.admin_extensions import AdminExtension
from quizzes.admin import QuizAdmin
from quizzes.models import QuizAttempt
from terms.admin import TermAdmin


def has_analytics_permission(request) -> bool:
    return request.user.has_perm(ANALYTICS_PERMISSION)


@admin.action(description="Export attempts of selected quizzes (CSV)", permissions=["analytics"])
def export_attempts(modeladmin, request, queryset):
    attempts = QuizAttempt.objects.filter(quiz__in=queryset)
    return streaming_export("attempts", "csv", export_chunks("attempts", "csv", attempts))


@admin.display(description="Analytics")
def analytics_link(quiz):
    url = reverse("admin:quizzes_quiz_analytics", args=[quiz.pk])
    return format_html('<a href="{}">Dashboard</a>', url)


def quiz_dashboard(model_admin, request, object_id):
    """The analytics dashboard of one quiz, over an optional window of days."""
    if not has_analytics_permission(request):
        raise PermissionDenied
    quiz = model_admin.get_object(request, object_id)
    if quiz is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    window = AttemptExportFilter(request.GET, queryset=QuizAttempt.objects.none())
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Analytics: {quiz}",
        "quiz": quiz,
        "window_form": window.form,
    }
    if not window.is_valid():
        # The errors, and no numbers: numbers of some other window would read as these.
        return TemplateResponse(request, "admin/quizzes/quiz/analytics.html", context)
    since = window.form.cleaned_data.get("since")
    until = window.form.cleaned_data.get("until")
    analytics = quiz_analytics(quiz=quiz, since=since, until=until)
    summary = analytics.summary
    scores = score_distribution(
        quiz=quiz, since=since, until=until, max_score=len(analytics.questions)
    )
    context |= {
        "export_query": urlencode(
            {
                "quiz": quiz.slug,
                **({"since": since} if since else {}),
                **({"until": until} if until else {}),
            }
        ),
        "since": since,
        "until": until,
        "summary": summary,
        "reliability": analytics.reliability,
        "questions": analytics.questions,
        "most_missed": analytics.most_missed_terms,
        "histogram_chart": bar_chart([(f"{c.score}", c.attempts, False) for c in scores]),
        "facility_chart": bar_chart(
            [(f"Q{q.position}", q.facility, q.weak) for q in analytics.questions],
            maximum=1,
            value_format="{:.2f}",
        ),
        "daily_chart": bar_chart(
            [(day.day.strftime("%d %b"), day.attempts, False) for day in summary.per_day]
        ),
    }
    return TemplateResponse(request, "admin/quizzes/quiz/analytics.html", context)


class QuizDashboard(AdminExtension):
    """The quiz admin's dashboard page, its links, and the attempts export action."""

    actions = [export_attempts]
    permissions = {"analytics": has_analytics_permission}

    def list_display(self, request):
        return [analytics_link] if has_analytics_permission(request) else []

    def urls(self, model_admin):
        def view(request, object_id):
            return quiz_dashboard(model_admin, request, object_id)

        return [
            path(
                "<path:object_id>/analytics/",
                model_admin.admin_site.admin_view(view),
                name="quizzes_quiz_analytics",
            )
        ]

    def change_view_context(self, request):
        return {"has_analytics_permission": has_analytics_permission(request)}


@admin.display(description="Missed", ordering="miss_rate")
def miss_rate_column(term):
    return "—" if term.miss_rate is None else f"{term.miss_rate:.0%}"


class TermMissRate(AdminExtension):
    """The term list's miss-rate column, for those who may read analytics."""

    def list_display(self, request):
        return [miss_rate_column] if has_analytics_permission(request) else []

    def queryset(self, request, queryset):
        if not has_analytics_permission(request):
            return queryset
        return queryset.annotate(miss_rate=term_miss_rate())


QuizAdmin.extensions.append(QuizDashboard())
TermAdmin.extensions.append(TermMissRate())

