import random
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.forms import BaseInlineFormSet, ModelForm
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from quizzes.analytics import ANALYTICS_PERMISSION, quiz_analytics, term_miss_rate
from quizzes.charts import bar_chart
from quizzes.exports import export_chunks
from quizzes.filtersets import AttemptExportFilter
from quizzes.models import AttemptAnswer, Choice, Question, Quiz, QuizAttempt, question_shape_errors
from quizzes.services import quiz_generate, quiz_problems, quizzes_publish
from quizzes.views import streaming_export
from terms.admin import ChapterAdmin, TermAdmin, archive, unpublish
from terms.models import Chapter, Status, Term

GENERATED_QUESTIONS = 10


class QuestionInlineFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if self.instance.status != Status.PUBLISHED:
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError("A published quiz needs questions.", code="no_questions")
        if any(form.instance.pk is None for form in kept):
            raise ValidationError(
                "New questions have no choices yet: save the quiz as a draft, add their "
                "choices, then publish it.",
                code="new_question_in_published_quiz",
            )


class QuestionInline(admin.TabularInline):
    model = Question
    formset = QuestionInlineFormSet
    fields = ["position", "prompt", "kind", "term", "explanation"]
    autocomplete_fields = ["term"]
    show_change_link = True
    extra = 0


class QuizAdminForm(ModelForm):
    class Meta:
        model = Quiz
        fields = ["title", "slug", "chapter", "status", "pass_percentage", "description"]

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("status") == Status.PUBLISHED and self.instance.pk:
            problems = quiz_problems(self.instance)
            if problems:
                raise ValidationError(
                    ["This quiz cannot be published yet.", *problems], code="unpublishable"
                )
        return cleaned_data


@admin.action(description="Publish selected quizzes", permissions=["change"])
def publish_quizzes(modeladmin, request, queryset):
    try:
        changed = quizzes_publish(queryset=queryset, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            modeladmin.message_user(request, message, messages.ERROR)
        modeladmin.message_user(request, "Nothing was published.", messages.ERROR)
        return
    modeladmin.message_user(request, f"{changed} quiz(zes) published.", messages.SUCCESS)


@admin.action(description="Export attempts of selected quizzes (CSV)", permissions=["analytics"])
def export_attempts(modeladmin, request, queryset):
    attempts = QuizAttempt.objects.filter(quiz__in=queryset)
    return streaming_export("attempts", "csv", export_chunks("attempts", "csv", attempts))


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    form = QuizAdminForm
    list_display = ["title", "chapter", "status", "question_count", "attempt_count", "updated_at"]
    list_select_related = ["chapter"]
    list_filter = ["status", "chapter"]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["chapter"]
    readonly_fields = ["published_at", "created_at", "updated_at"]
    inlines = [QuestionInline]
    actions = [publish_quizzes, unpublish, archive, export_attempts]

    def has_analytics_permission(self, request):
        return request.user.has_perm(ANALYTICS_PERMISSION)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/analytics/",
                self.admin_site.admin_view(self.analytics_view),
                name="quizzes_quiz_analytics",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_analytics_permission": self.has_analytics_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def analytics_view(self, request, object_id):
        if not self.has_analytics_permission(request):
            raise PermissionDenied
        quiz = self.get_object(request, object_id)
        if quiz is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        window = AttemptExportFilter(request.GET, queryset=QuizAttempt.objects.none())
        valid = window.is_valid()
        since = window.form.cleaned_data.get("since") if valid else None
        until = window.form.cleaned_data.get("until") if valid else None
        analytics = quiz_analytics(quiz=quiz, since=since, until=until)
        summary = analytics.summary
        export_query = urlencode(
            {
                "quiz": quiz.slug,
                **({"since": since} if since else {}),
                **({"until": until} if until else {}),
            }
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Analytics: {quiz}",
            "quiz": quiz,
            "window_form": window.form,
            "export_query": export_query,
            "summary": summary,
            "reliability": analytics.reliability,
            "questions": analytics.questions,
            "most_missed": analytics.most_missed_terms,
            "histogram_chart": bar_chart(
                [(f"{b.low}", b.attempts, False) for b in summary.histogram]
            ),
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

    @admin.display(description="Analytics")
    def analytics_link(self, quiz):
        url = reverse("admin:quizzes_quiz_analytics", args=[quiz.pk])
        return format_html('<a href="{}">Dashboard</a>', url)

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if self.has_analytics_permission(request):
            return [*columns, "analytics_link"]
        return columns

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                questions_total=Count("questions", distinct=True),
                attempts_total=Count("attempts", distinct=True),
            )
            .order_by(*Quiz._meta.ordering)  # GROUP BY drops the default ordering
        )

    @admin.display(description="Questions", ordering="questions_total")
    def question_count(self, quiz):
        return quiz.questions_total

    @admin.display(description="Attempts", ordering="attempts_total")
    def attempt_count(self, quiz):
        return quiz.attempts_total


class ChoiceInlineFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        errors = question_shape_errors(
            self.instance.kind, [form.cleaned_data.get("is_correct", False) for form in kept]
        )
        if errors:
            raise ValidationError(errors)


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = ChoiceInlineFormSet
    fields = ["position", "text", "is_correct"]
    extra = 0
    min_num = 2


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quiz", "kind", "term"]
    list_select_related = ["quiz", "term"]
    list_filter = ["kind", "quiz"]
    search_fields = ["prompt", "quiz__title", "term__name"]
    autocomplete_fields = ["quiz", "term"]
    inlines = [ChoiceInline]


class AttemptAnswerInline(admin.TabularInline):
    model = AttemptAnswer
    fields = ["question", "is_correct", "chosen"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("question")
            .prefetch_related("selected_choices")
        )

    @admin.display(description="Chosen")
    def chosen(self, answer):
        return ", ".join(choice.text for choice in answer.selected_choices.all()) or "—"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(QuizAttempt)
class QuizAttemptAdmin(admin.ModelAdmin):
    """Attempts are history: everyone may look, nobody may change or delete them here."""

    list_display = [
        "quiz",
        "submitted_at",
        "score",
        "max_score",
        "percentage",
        "passed",
        "client_id",
    ]
    list_select_related = ["quiz"]
    list_filter = ["passed", "quiz"]
    date_hierarchy = "submitted_at"
    search_fields = ["client_id", "idempotency_key"]
    inlines = [AttemptAnswerInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.action(
    description="Draft a quiz from each selected chapter's terms", permissions=["add_quiz"]
)
def generate_quiz(modeladmin, request, queryset):
    for chapter in queryset:
        published_terms = Term.objects.published().filter(chapter=chapter).count()
        try:
            quiz = quiz_generate(
                chapter=chapter,
                questions=min(GENERATED_QUESTIONS, published_terms),
                seed=random.SystemRandom().randrange(1, 1_000_000),
            )
        except ValidationError as error:
            modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            modeladmin.message_user(
                request,
                f"Drafted “{quiz}” with {quiz.questions.count()} questions; review it before "
                "publishing.",
                messages.SUCCESS,
            )


# Chapters are the terms app's; the quiz-drafting action is added here, where quizzes live.
admin.site.unregister(Chapter)


@admin.register(Chapter)
class ChapterWithQuizzesAdmin(ChapterAdmin):
    actions = [*ChapterAdmin.actions, generate_quiz]

    def has_add_quiz_permission(self, request):
        return request.user.has_perm("quizzes.add_quiz")


# Terms are the terms app's; their miss rate comes from attempts, so it is added here.
admin.site.unregister(Term)


@admin.register(Term)
class TermWithMissRateAdmin(TermAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # Only for those who may see it: an annotation can be filtered on from the query
        # string (?miss_rate__gte=0.5) even where no column shows it.
        if request.user.has_perm(ANALYTICS_PERMISSION):
            queryset = queryset.annotate(miss_rate=term_miss_rate())
        return queryset

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if request.user.has_perm(ANALYTICS_PERMISSION):
            return [*columns, "miss_rate_display"]
        return columns

    @admin.display(description="Missed", ordering="miss_rate")
    def miss_rate_display(self, term):
        return "—" if term.miss_rate is None else f"{term.miss_rate:.0%}"
