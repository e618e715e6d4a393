from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from glossary_backend.admin_extensions import ExtensibleModelAdmin
from terms.models import Chapter, Status, Term
from terms.services import (
    content_save,
    content_set_status,
    related_terms_problems,
    term_set_related,
)


def _status_action(status: Status, verb: str):
    def action(modeladmin, request, queryset):
        try:
            changed = content_set_status(queryset=queryset, status=status, user=request.user)
        except ValidationError as error:
            for message in error.messages:
                modeladmin.message_user(request, message, messages.ERROR)
            modeladmin.message_user(request, f"Nothing was {verb}.", messages.ERROR)
            return
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d %(name)s was %(verb)s.",
                "%(count)d %(plural)s were %(verb)s.",
                changed,
            )
            % {
                "count": changed,
                "name": modeladmin.model._meta.verbose_name,
                "plural": modeladmin.model._meta.verbose_name_plural,
                "verb": verb,
            },
            messages.SUCCESS,
        )

    action.__name__ = f"make_{status}"
    return admin.action(
        description=f"{verb.capitalize()} selected %(verbose_name_plural)s", permissions=["change"]
    )(action)


publish = _status_action(Status.PUBLISHED, "published")
unpublish = _status_action(Status.DRAFT, "unpublished")
archive = _status_action(Status.ARCHIVED, "archived")


class CheckedSaveAdmin(ExtensibleModelAdmin):
    """A change form whose save is refused by a check of the state it leaves answers with
    the reasons and saves nothing (the admin's transaction is rolled back).

    The forms check that state before saving; this catches what changed meanwhile.
    A crafted action request naming rows that cannot exist is an error message, not a 500.
    """

    def response_action(self, request, queryset):
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                self.opts.pk.to_python(value)
        except ValidationError:
            self.message_user(request, "The selection is not of this list.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            self.message_user(request, "Nothing was saved.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class PublishableAdmin(CheckedSaveAdmin):
    """Saves chapters, terms and quizzes through the publishing service, with their inlines
    and links, so that the rules hold on the state the whole form leaves."""

    def save_model(self, request, obj, form, change):
        """Saved in save_related, together with what the form's inlines change."""

    def save_related(self, request, form, formsets, change):
        content_save(
            obj=form.instance,
            user=request.user,
            save_related=lambda: self.save_form_relations(request, form, formsets, change),
        )

    def save_form_relations(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)


@admin.register(Chapter)
class ChapterAdmin(PublishableAdmin):
    list_display = [
        "title",
        "position",
        "status",
        "published_term_count",
        "draft_term_count",
        "terms_link",
        "updated_at",
    ]
    list_editable = ["position"]
    list_filter = ["status"]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["published_at", "created_at", "updated_at"]
    actions = [publish, unpublish, archive]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                published_terms=Count("terms", filter=Q(terms__status=Status.PUBLISHED)),
                draft_terms=Count("terms", filter=Q(terms__status=Status.DRAFT)),
            )
            .order_by(*Chapter._meta.ordering)  # GROUP BY drops the default ordering
        )

    @admin.display(description="Published terms", ordering="published_terms")
    def published_term_count(self, chapter):
        return chapter.published_terms

    @admin.display(description="Draft terms", ordering="draft_terms")
    def draft_term_count(self, chapter):
        return chapter.draft_terms

    @admin.display(description="Terms")
    def terms_link(self, chapter):
        url = reverse("admin:terms_term_changelist") + f"?chapter__id__exact={chapter.pk}"
        return format_html('<a href="{}">View terms</a>', url)


class TermAdminForm(forms.ModelForm):
    # The relation has its own through model (for the not-self constraint), which the
    # admin cannot edit directly; this field edits it through the symmetric manager.
    see_also = forms.ModelMultipleChoiceField(
        queryset=Term.objects.all(),
        required=False,
        label="See also",
        help_text=Term._meta.get_field("related_terms").help_text,
        widget=AutocompleteSelectMultiple(Term._meta.get_field("related_terms"), admin.site),
    )

    class Meta:
        model = Term
        fields = [
            "name", "slug", "chapter", "status", "definition", "explanation",
            "abbreviation", "expansion", "aliases",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["see_also"].initial = self.instance.related_terms.all()

    def clean_see_also(self):
        related = self.cleaned_data["see_also"]
        problems = related_terms_problems(term=self.instance, related=related)
        if problems:
            raise ValidationError(problems)
        return related


@admin.register(Term)
class TermAdmin(PublishableAdmin):
    form = TermAdminForm
    list_display = ["name", "abbreviation", "chapter", "status", "updated_at"]
    list_select_related = ["chapter"]
    list_filter = ["chapter", "status"]
    search_fields = ["name", "abbreviation", "aliases", "definition"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["chapter"]
    readonly_fields = ["published_at", "created_at", "updated_at", "created_by", "updated_by"]
    actions = [publish, unpublish, archive]
    fieldsets = [
        (None, {"fields": ["name", "slug", "chapter", "status"]}),
        ("Definition", {"fields": ["definition", "explanation"]}),
        ("Other names", {"fields": ["abbreviation", "expansion", "aliases"]}),
        ("See also", {"fields": ["see_also"]}),
        (
            "History",
            {
                "classes": ["collapse"],
                "fields": ["published_at", "created_at", "created_by", "updated_at", "updated_by"],
            },
        ),
    ]

    def save_form_relations(self, request, form, formsets, change):
        super().save_form_relations(request, form, formsets, change)
        term_set_related(term=form.instance, related=form.cleaned_data["see_also"])
