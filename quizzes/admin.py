import random

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms import BaseInlineFormSet, ModelForm

from glossary_backend.admin_extensions import AdminExtension, ExtensibleModelAdmin
from quizzes.models import AttemptAnswer, Choice, Question, Quiz, QuizAttempt, question_shape_errors
from quizzes.services import attempts_delete, quiz_generate, quiz_problems, quizzes_publish
from terms.admin import ChapterAdmin, archive, unpublish
from terms.models import Status, Term

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


@admin.action(description="Publish selected quizzes")
def publish_quizzes(modeladmin, request, queryset):
    try:
        changed = quizzes_publish(queryset=queryset, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            modeladmin.message_user(request, message, messages.ERROR)
        modeladmin.message_user(request, "Nothing was published.", messages.ERROR)
        return
    modeladmin.message_user(request, f"{changed} quiz(zes) published.", messages.SUCCESS)


@admin.register(Quiz)
class QuizAdmin(ExtensibleModelAdmin):
    form = QuizAdminForm
    list_display = ["title", "chapter", "status", "question_count", "attempt_count", "updated_at"]
    list_select_related = ["chapter"]
    list_filter = ["status", "chapter"]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["chapter"]
    readonly_fields = ["published_at", "created_at", "updated_at"]
    inlines = [QuestionInline]
    actions = [publish_quizzes, unpublish, archive]

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
