import random

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, F
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
    PARKED,
    attempts_delete,
    question_contents,
    question_versions_keep,
    quiz_generate,
    quiz_questions_changed,
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


def page_order(form):
    """Where a form stands on the page: its position (kept in a hidden field that the
    page's drag and drop rewrites), then its place in the POST; blank positions last."""
    position = (form.cleaned_data or {}).get("position")
    return (position is None, position or 0, int(form.prefix.rsplit("-", 1)[-1]))


class PageOrderFormSet(nested_admin.NestedInlineFormSet):
    """Positions follow the order on the page, numbered 1, 2, 3... when saved: nobody
    types them. Rows whose position changes are first moved past any position in use,
    so that renumbering never meets the unique constraint halfway."""

    def parent_deleted(self) -> bool:
        """Whether these rows belong to a row deleted on the same page (a question's
        choices, when the question is deleted): they go with it."""
        parent = getattr(self, "parent_form", None)
        parent_formset = getattr(parent, "parent_formset", None)
        return parent_formset is not None and parent_formset._should_delete_form(parent)

    def _should_delete_form(self, form):
        return self.parent_deleted() or super()._should_delete_form(form)

    def save(self, commit=True):
        if self.parent_deleted():  # the parent's deletion took these rows with it
            self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
            return []
        return super().save(commit)

    def process_forms_pre_save(self, forms):
        kept = sorted(
            (
                form for form in forms
                if not self._should_delete_form(form) and (form._is_initial or form.has_changed())
            ),
            key=page_order,
        )  # fmt: skip
        for number, form in enumerate(kept, start=1):
            form.instance.position = number
            with nested_admin.formsets.mutable_querydict(form.data):
                form.data[form.add_prefix("position")] = str(number)
            form.__dict__.pop("changed_data", None)
        moving = [
            form.instance.pk
            for form in forms
            if form._is_initial
            and form.instance.pk
            and (self._should_delete_form(form) or "position" in form.changed_data)
        ]
        self.model.objects.filter(pk__in=moving).update(position=F("position") + PARKED)
        return [*kept, *(form for form in forms if form not in kept)]


def choices_as_edited(question_form) -> list[bool]:
    """The correct flags of a question's choices as the quiz page leaves them."""
    for formset in getattr(question_form, "nested_formsets", []):
        if formset.model is Choice:
            formset.is_valid()
            return [form.cleaned_data.get("is_correct", False) for form in kept_forms(formset)]
    if question_form.instance.pk is None:
        return []
    return list(question_form.instance.choices.values_list("is_correct", flat=True))


class QuestionInlineFormSet(PageOrderFormSet):
    """On the quiz page: a quiz that is to be published must be answerable as the page
    leaves it (questions and their choices as edited), with each problem shown on the
    question it concerns. A draft may hold unfinished questions."""

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.status != Status.PUBLISHED:
            return
        shape = []
        kept = sorted(kept_forms(self), key=page_order)
        for number, form in enumerate(kept, start=1):
            kind, flags = form.cleaned_data["kind"], choices_as_edited(form)
            for error in question_shape_errors(kind, flags):
                form.add_error(None, error)
            shape.append((number, kind, flags))
        if any(form.errors for form in kept):
            raise ValidationError(
                "This quiz cannot be published as it is: see the questions marked below.",
                code="unpublishable",
            )
        problems = quiz_shape_problems(shape)
        if problems:
            raise ValidationError(problems, code="unpublishable")


class PageOrderForm(forms.ModelForm):
    """Every editable field of the model (new fields appear by themselves); the position
    is hidden, set by the order on the page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        self.fields["position"].widget = forms.HiddenInput()


class QuizChoiceInline(nested_admin.NestedTabularInline):
    """A question's choices, under it on the quiz page; a new question comes with two."""

    model = Choice
    form = PageOrderForm
    formset = PageOrderFormSet
    sortable_field_name = "position"
    min_num = 0
    classes = ["quiz-choices"]

    def get_extra(self, request, obj=None, **kwargs):
        return 2 if obj is None or obj.pk is None else 0


class QuestionInline(nested_admin.NestedStackedInline):
    """The quiz's questions, each with its choices, in page order (drag to reorder)."""

    model = Question
    form = PageOrderForm
    formset = QuestionInlineFormSet
    sortable_field_name = "position"
    inlines = [QuizChoiceInline]
    autocomplete_fields = ["term"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})}}
    classes = ["quiz-questions"]
    extra = 0

    def get_fieldsets(self, request, obj=None):
        """Every field of the form, with the kind and the term side by side."""
        [(name, options)] = super().get_fieldsets(request, obj)
        fields = list(options["fields"])
        if {"kind", "term"} <= set(fields):
            fields[fields.index("kind")] = ("kind", "term")
            fields.remove("term")
        return [(name, {**options, "fields": fields})]

    def get_queryset(self, request):
        return super().get_queryset(request).current()


class DrawRuleInline(nested_admin.NestedTabularInline):
    """The quiz page is a nested admin page: every inline on it must be a nested one."""

    model = DrawRule
    form = PageOrderForm
    formset = PageOrderFormSet
    sortable_field_name = "position"
    fields = ["position", "count", "term", "chapter"]
    autocomplete_fields = ["term", "chapter"]
    extra = 0
    verbose_name = "draw rule (questions per attempt about a term or a chapter)"


@admin.register(Quiz)
class QuizAdmin(nested_admin.NestedModelAdminMixin, PublishableAdmin):
    fields = [
        "title", "slug", "chapter", "status", "go_live_at", "expire_at", "pass_percentage",
        "reveal", "shuffle_questions", "draw_count", "description", "based_on",
    ]  # fmt: skip
    list_display = [
        "title", "chapter", "status", "schedule", "question_count", "attempt_count", "updated",
    ]  # fmt: skip
    list_select_related = ["chapter"]
    list_filter = ["status", ScheduleFilter, "chapter"]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["chapter"]
    readonly_fields = ["published_at", "created_at", "updated_at"]
    inlines = [QuestionInline, DrawRuleInline]
    actions = [publish, unpublish, archive]

    class Media:
        js = ["quizzes/quiz_authoring.js"]

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

    def save_form_relations(self, request, form, formsets, change):
        """An answered question edited here gets a new version (question_versions_keep):
        its content is taken before any row of the page is saved, and compared once every
        row is (the questions, then each question's choices), in content_save's
        transaction."""
        quiz = form.instance
        before = question_contents(quiz.questions.current().values_list("pk", flat=True))
        super().save_form_relations(request, form, formsets, change)
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
        quiz_questions_changed(quiz_ids=quizzes)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        quiz_questions_changed(quiz_ids=[obj.quiz_id])

    def delete_queryset(self, request, queryset):
        quizzes = set(queryset.values_list("quiz", flat=True))
        super().delete_queryset(request, queryset)
        quiz_questions_changed(quiz_ids=quizzes)

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
