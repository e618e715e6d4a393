"""What analytics adds to the quiz and glossary admin: the quiz dashboard, its links, the
attempts export action and the terms' miss-rate column, added as extensions of the
quizzes and terms apps' ModelAdmins, which stay theirs. And the analysts' own page: their
API tokens."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from analytics.charts import bar_chart
from analytics.exports import export_chunks
from analytics.filtersets import AttemptExportFilter
from analytics.models import ApiToken
from analytics.statistics import (
    ANALYTICS_PERMISSION,
    quiz_analytics,
    score_distribution,
    term_miss_rate,
)
from analytics.tokens import DEFAULT_DAYS, api_token_create, api_tokens_revoke
from analytics.views import streaming_export
from glossary_backend.admin_extensions import AdminExtension
from quizzes.admin import QuizAdmin
from quizzes.attempts import questions_per_attempt
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
    # Raw scores run to the questions an attempt asks: drawn ones, current versions.
    asked = questions_per_attempt(quiz, list(quiz.questions.current().select_related("term")))
    scores = score_distribution(quiz=quiz, since=since, until=until, max_score=asked)
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


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=ApiToken._meta.get_field("scopes").help_text,
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "expires_at"]


@admin.action(description="Revoke selected API tokens", permissions=["analytics"])
def revoke_tokens(modeladmin, request, queryset):
    revoked = api_tokens_revoke(tokens=queryset)
    modeladmin.message_user(
        request, f"{revoked} {model_ngettext(modeladmin.opts, revoked)} revoked.", messages.SUCCESS
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Personal API tokens, for those who may read analytics: each sees and revokes their
    own (superusers everyone's). A token is shown once, on the page that creates it; it
    cannot be edited afterwards, and is revoked rather than deleted."""

    form = ApiTokenForm
    actions = [revoke_tokens]
    list_display = [
        "name", "prefix_shown", "user", "scopes_shown", "expires_at", "last_used_at", "state"
    ]  # fmt: skip
    list_select_related = ["user"]
    readonly_fields = ["user", "prefix_shown", "created_at", "last_used_at", "revoked_at"]

    @admin.display(description="scopes")
    def scopes_shown(self, obj) -> str:
        return ", ".join(obj.scopes)

    def has_analytics_permission(self, request) -> bool:
        return request.user.is_active and has_analytics_permission(request)

    def has_module_permission(self, request):
        return self.has_analytics_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.has_analytics_permission(request) and (
            obj is None or obj.user_id == request.user.pk or request.user.is_superuser
        )

    def has_add_permission(self, request):
        return self.has_analytics_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes", "expires_at"]
        return ["name", "user", "prefix_shown", "scopes", "created_at", "expires_at",
                "last_used_at", "revoked_at"]  # fmt: skip

    def get_changeform_initial_data(self, request):
        return {
            "scopes": [ApiToken.Scope.ANALYTICS_READ],
            "expires_at": timezone.now() + datetime.timedelta(days=DEFAULT_DAYS),
        }

    @admin.display(description="Token")
    def prefix_shown(self, api_token):
        return f"{api_token.prefix}…"

    def save_model(self, request, obj, form, change):
        created, token = api_token_create(
            user=request.user, name=obj.name, scopes=obj.scopes, expires_at=obj.expires_at
        )
        for model_field in ApiToken._meta.concrete_fields:
            setattr(obj, model_field.attname, getattr(created, model_field.attname))
        obj._state.adding = False
        request.api_token_shown_once = token

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "api_token": obj,
            "token": request.api_token_shown_once,
        }
        response = TemplateResponse(request, "admin/analytics/apitoken/created.html", context)
        response["Cache-Control"] = "private, no-store"
        return response
