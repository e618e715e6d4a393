"""django-filter FilterSets for the plain query strings of the export endpoints.

The predicates are the models' QuerySet methods, the same the GraphQL layer uses; so is
visibility: a filter bound to a request starts from what its user may see (`visible_to`),
one without (the command line) from everything.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from analytics.exports import export_chunks
from glossary_backend.inputs import day_window, parse_day
from quizzes.models import Quiz, QuizAttempt
from terms.models import Chapter


class DayField(forms.Field):
    """A day in the one written form the API accepts (glossary_backend.inputs.parse_day);
    a date picker in forms (browsers send its value in that form)."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_day(value)
        except ValueError as error:
            message = str(error)
            raise ValidationError(f"{message[0].upper()}{message[1:]}.", code="invalid") from None


class DayFilter(django_filters.Filter):
    field_class = DayField


class AttemptExportForm(forms.Form):
    def clean(self):
        cleaned_data = super().clean()
        # A parameter given twice is a mistake, not a choice of the last one.
        for name in self.fields:
            if hasattr(self.data, "getlist") and len(self.data.getlist(name)) > 1:
                self.add_error(name, "Given more than once.")
        try:
            day_window(cleaned_data.get("since"), cleaned_data.get("until"))
        except ValueError:
            self.add_error("until", "Must not be before since.")
        return cleaned_data


def visible(queryset, request):
    """`queryset` cut down to what the request's user may see; all of it without a request."""
    return queryset if request is None else queryset.visible_to(request.user)


class AttemptExportFilter(django_filters.FilterSet):
    quiz = django_filters.ModelChoiceFilter(
        queryset=lambda request: visible(Quiz.objects.all(), request),
        to_field_name="slug",
        help_text="A quiz's slug.",
    )
    chapter = django_filters.ModelChoiceFilter(
        field_name="quiz__chapter",
        queryset=lambda request: visible(Chapter.objects.all(), request),
        to_field_name="slug",
        help_text="A chapter's slug: attempts at its quizzes.",
    )
    since = DayFilter(method="filter_since", help_text="First day (YYYY-MM-DD, UTC), included.")
    until = DayFilter(method="filter_until", help_text="Last day (YYYY-MM-DD, UTC), included.")

    class Meta:
        model = QuizAttempt
        fields = ["quiz", "chapter", "since", "until"]
        form = AttemptExportForm

    def filter_queryset(self, queryset):
        return super().filter_queryset(visible(queryset, self.request))

    def filter_since(self, queryset, name, value):
        return queryset.submitted_between(value, None)

    def filter_until(self, queryset, name, value):
        return queryset.submitted_between(None, value)

    def quizzes(self):
        """The quizzes the filter selects (every visible quiz when none is named)."""
        data = self.form.cleaned_data
        quizzes = visible(Quiz.objects.all(), self.request)
        if data.get("quiz"):
            return quizzes.filter(pk=data["quiz"].pk)
        if data.get("chapter"):
            return quizzes.filter(chapter=data["chapter"])
        return quizzes

    def export(self, dataset: str, fmt: str, *, bom: bool = False):
        """The encoded export of `dataset` in `fmt` that this (valid) filter selects."""
        data = self.form.cleaned_data
        return export_chunks(
            dataset,
            fmt,
            self.qs,
            quizzes=self.quizzes(),
            since=data.get("since"),
            until=data.get("until"),
            bom=bom,
        )
