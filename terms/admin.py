from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from terms.models import Chapter, Status, Term
from terms.selectors import editorial_report
from terms.services import content_set_status, term_mentions_refresh


def _status_action(status: Status, verb: str):
    def action(modeladmin, request, queryset):
        changed = content_set_status(queryset=queryset, status=status, user=request.user)
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
    return admin.action(description=f"{verb.capitalize()} selected %(verbose_name_plural)s")(action)


publish = _status_action(Status.PUBLISHED, "published")
unpublish = _status_action(Status.DRAFT, "unpublished")
archive = _status_action(Status.ARCHIVED, "archived")


@admin.register(Chapter)
class ChapterAdmin(admin.ModelAdmin):
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
            "abbreviation", "expansion", "aliases", "seo_title", "seo_description",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["see_also"].initial = self.instance.related_terms.all()

    def clean_see_also(self):
        related = self.cleaned_data["see_also"]
        if self.instance.pk and self.instance in related:
            raise ValidationError("A term cannot be related to itself.", code="self_related")
        return related


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    form = TermAdminForm
    change_list_template = "admin/terms/term/change_list.html"
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
        ("Search engines", {"classes": ["collapse"], "fields": ["seo_title", "seo_description"]}),
        (
            "History",
            {
                "classes": ["collapse"],
                "fields": ["published_at", "created_at", "created_by", "updated_at", "updated_by"],
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.related_terms.set(form.cleaned_data["see_also"])
        # Names and texts decide the links of every term, not only of this one.
        term_mentions_refresh()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        term_mentions_refresh()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        term_mentions_refresh()

    def get_urls(self):
        report = path(
            "editorial-report/",
            self.admin_site.admin_view(self.editorial_report_view),
            name="terms_term_editorial_report",
        )
        return [report, *super().get_urls()]

    def editorial_report_view(self, request):
        """Links worth an editor's look; for anyone who may view terms."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Editorial report: links between terms",
            "report": editorial_report(),
        }
        return TemplateResponse(request, "admin/terms/term/editorial_report.html", context)
