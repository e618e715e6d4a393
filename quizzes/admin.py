import random
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.forms import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from quizzes.analytics import ANALYTICS_PERMISSION, quiz_analytics, term_miss_rate
from quizzes.charts import bar_chart
from quizzes.exports import export_chunks
from quizzes.filtersets import AttemptExportFilter
from quizzes.models import (
    AttemptAnswer,
    Choice,
    Question,
    Quiz,
    QuizAttempt,
    question_shape_errors,
    quiz_shape_problems,
)
from quizzes.services import quiz_generate
from quizzes.views import streaming_export
from terms.admin import (
    ChapterAdmin,
    CheckedSaveAdmin,
    PublishableAdmin,
    ScheduleFilter,
    TermAdmin,
    archive,
    publish,
    unpublish,
)
from terms.models import Chapter, Status, Term
from terms.services import ensure_publishable

GENERATED_QUESTIONS = 10


def kept_forms(formset):
    return [form for form in formset.forms if form.cleaned_data and not form.cleaned_data["DELETE"]]


class QuestionInlineFormSet(BaseInlineFormSet):
    """On the quiz page: a quiz that is to be published must be answerable as the page
    leaves it (kinds as edited, questions added or removed, choices as stored), with each
    problem shown on the question it concerns."""

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.status != Status.PUBLISHED:
            return
        kept = kept_forms(self)
        stored = {
            question.pk: [choice.is_correct for choice in question.choices.all()]
            for question in Question.objects.filter(
                pk__in=[form.instance.pk for form in kept if form.instance.pk]
            ).prefetch_related("choices")
        }
        shape = []
        for form in kept:
            position, kind = form.cleaned_data["position"], form.cleaned_data["kind"]
            flags = stored.get(form.instance.pk, [])
            for error in question_shape_errors(kind, flags):
                form.add_error("kind" if form.instance.pk else None, error)
            shape.append((position, kind, flags))
        if any(form.errors for form in kept):
            raise ValidationError(
                "This quiz cannot be published as it is: see the questions marked below. New "
                "questions get their choices on their own page, while the quiz is a draft.",
                code="unpublishable",
            )
        problems = quiz_shape_problems(shape)
        if problems:
            raise ValidationError(problems, code="unpublishable")


class QuestionInline(admin.TabularInline):
    model = Question
    formset = QuestionInlineFormSet
    fields = ["position", "prompt", "kind", "term", "explanation"]
    autocomplete_fields = ["term"]
    show_change_link = True
    extra = 0


@admin.action(description="Export attempts of selected quizzes (CSV)", permissions=["analytics"])
def export_attempts(modeladmin, request, queryset):
    attempts = QuizAttempt.objects.filter(quiz__in=queryset)
    return streaming_export("attempts", "csv", export_chunks("attempts", "csv", attempts))


@admin.register(Quiz)
class QuizAdmin(PublishableAdmin):
    fields = [
        "title", "slug", "chapter", "status", "go_live_at", "expire_at", "pass_percentage",
        "description", "based_on",
    ]  # fmt: skip
    list_display = [
        "title", "chapter", "status", "schedule", "question_count", "attempt_count", "updated_at",
    ]  # fmt: skip
    list_select_related = ["chapter"]
    list_filter = ["status", ScheduleFilter, "chapter"]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["chapter"]
    readonly_fields = ["published_at", "created_at", "updated_at"]
    inlines = [QuestionInline]
    actions = [publish, unpublish, archive, export_attempts]

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
    """On a question's page: the question's shape as the page leaves it (its kind as
    edited, its choices as edited)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        flags = [form.cleaned_data.get("is_correct", False) for form in kept_forms(self)]
        errors = question_shape_errors(self.instance.kind, flags)
        if errors:
            raise ValidationError(errors)


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = ChoiceInlineFormSet
    fields = ["position", "text", "is_correct"]
    extra = 0
    min_num = 2


@admin.register(Question)
class QuestionAdmin(CheckedSaveAdmin):
    list_display = ["__str__", "quiz", "kind", "term"]
    list_select_related = ["quiz", "term"]
    list_filter = ["kind", "quiz"]
    search_fields = ["prompt", "quiz__title", "term__name"]
    autocomplete_fields = ["quiz", "term"]
    inlines = [ChoiceInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The state left behind, in the same transaction: the question's quiz, and the
        # quiz it was moved from, must still be answerable if published.
        quizzes = {form.instance.quiz_id, form.initial.get("quiz")} - {None}
        ensure_publishable(Quiz.objects.filter(pk__in=quizzes))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        leaving = {question.pk for question in objs}
        emptied = (
            Quiz.objects.published()
            .filter(questions__in=leaving)
            .exclude(questions__in=Question.objects.exclude(pk__in=leaving))
        )
        protected = [
            *protected,
            *(
                f"{quiz}: published, and would have no questions left"
                for quiz in emptied.distinct()
            ),
        ]
        return deleted, counts, perms_needed, protected


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
