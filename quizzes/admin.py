import random

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms import BaseInlineFormSet

from glossary_backend.admin_extensions import AdminExtension
from quizzes.models import (
    AttemptAnswer,
    Choice,
    DrawRule,
    Question,
    Quiz,
    QuizAttempt,
    question_shape_errors,
    quiz_shape_problems,
)
from quizzes.services import (
    attempts_delete,
    question_contents,
    question_versions_keep,
    quiz_generate,
)
from terms.admin import (
    ChapterAdmin,
    CheckedSaveAdmin,
    PublishableAdmin,
    ScheduleFilter,
    archive,
    publish,
    unpublish,
)
from terms.models import Status, Term
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

    def get_queryset(self, request):
        return super().get_queryset(request).current()


class DrawRuleInline(admin.TabularInline):
    model = DrawRule
    fields = ["position", "count", "term", "chapter"]
    autocomplete_fields = ["term", "chapter"]
    extra = 0
    verbose_name = "draw rule (questions per attempt about a term or a chapter)"


@admin.register(Quiz)
class QuizAdmin(PublishableAdmin):
    fields = [
        "title", "slug", "chapter", "status", "go_live_at", "expire_at", "pass_percentage",
        "reveal", "shuffle_questions", "draw_count", "description", "based_on",
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
    inlines = [QuestionInline, DrawRuleInline]
    actions = [publish, unpublish, archive]

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

    def save_formset(self, request, form, formset, change):
        # An answered question edited here gets a new version (question_versions_keep).
        before = question_contents(form.instance.pk for form in formset.forms if form.instance.pk)
        super().save_formset(request, form, formset, change)
        question_versions_keep(before=before)

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
    fields = ["position", "text", "is_correct", "pinned"]
    extra = 0
    min_num = 2


@admin.register(Question)
class QuestionAdmin(CheckedSaveAdmin):
    list_display = ["__str__", "quiz", "kind", "term", "version", "retired_at"]
    list_select_related = ["quiz", "term"]
    list_filter = ["kind", "quiz"]
    search_fields = ["prompt", "quiz__title", "term__name"]
    autocomplete_fields = ["quiz", "term"]
    inlines = [ChoiceInline]
    readonly_fields = ["version", "retired_at"]

    def save_model(self, request, obj, form, change):
        # What the question asked before this edit, for question_versions_keep.
        obj.content_before = question_contents([obj.pk] if change else [])
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        question_versions_keep(before=form.instance.content_before)
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
    """Attempts are history: everyone may look, nobody may change them; superusers may
    delete them (erasure), which keeps the analytics exact."""

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
        # Erasure only: superusers, through the service that keeps analytics exact.
        return request.user.is_superuser

    def delete_model(self, request, obj):
        attempts_delete(queryset=QuizAttempt.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        attempts_delete(queryset=queryset)


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


class DraftQuizzes(AdminExtension):
    """The chapter list's action that drafts quizzes; chapters are the terms app's."""

    actions = [generate_quiz]
    permissions = {"add_quiz": lambda request: request.user.has_perm("quizzes.add_quiz")}


ChapterAdmin.extensions.append(DraftQuizzes())
