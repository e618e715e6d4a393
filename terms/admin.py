import csv

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from reversion.models import Version

from glossary_backend.admin_extensions import ExtensibleModelAdmin
from terms import revisions
from terms.linking import chapter_url, term_url
from terms.models import AuditEntry, Chapter, Status, Term
from terms.selectors import editorial_report
from terms.services import (
    IMPORT_COLUMNS,
    changes_since,
    content_delete,
    content_restore,
    content_save,
    content_set_status,
    read_term_table,
    related_terms_problems,
    term_mentions_refresh,
    term_set_related,
    terms_import,
)

# Versions listed on an object's history page, newest first.
HISTORY_LENGTH = 50


def _status_action(status: Status, verb: str, past: str):
    def action(modeladmin, request, queryset):
        selected = queryset.count()
        try:
            changed = content_set_status(queryset=queryset, status=status, user=request.user)
        except ValidationError as error:
            for message in error.messages:
                modeladmin.message_user(request, message, messages.ERROR)
            modeladmin.message_user(request, f"Nothing was {past}.", messages.ERROR)
            return
        modeladmin.message_user(
            request, status_change_message(modeladmin.model, changed, selected - changed, past),
            messages.SUCCESS if changed else messages.INFO,
        )  # fmt: skip

    action.__name__ = f"make_{status}"
    return admin.action(
        description=f"{verb} selected %(verbose_name_plural)s", permissions=["change"]
    )(action)


def status_change_message(model, changed: int, already: int, past: str) -> str:
    """What a status action did, and to how many: "3 terms published, 1 already published"."""

    def count(number):
        name = model._meta.verbose_name if number == 1 else model._meta.verbose_name_plural
        return f"{number} {name}"

    said = f"{count(changed)} {past}"
    if already:
        said += f", {already} already {past}"
    return f"{said}."


publish = _status_action(Status.PUBLISHED, "Publish", "published")
unpublish = _status_action(Status.DRAFT, "Unpublish", "unpublished")
archive = _status_action(Status.ARCHIVED, "Archive", "archived")


def not_live(obj) -> str | None:
    """Why `obj` (a chapter, term or quiz) is not live by its own status and schedule, in a
    few words ("a draft", "scheduled for ..."); None when it is."""
    state = obj.schedule_state
    if state == "scheduled":
        return f"scheduled for {timezone.localtime(obj.go_live_at):%Y-%m-%d %H:%M %Z}"
    if state == "expired":
        return f"expired on {timezone.localtime(obj.expire_at):%Y-%m-%d %H:%M %Z}"
    return {Status.DRAFT: "a draft", Status.ARCHIVED: "archived"}.get(state)


def hidden_because(obj) -> str:
    """Why readers do not see `obj`, a stored chapter, term or quiz that is not public."""
    reason = not_live(obj)
    if reason is not None and reason.startswith("scheduled"):
        return f"Scheduled: hidden until {reason.removeprefix('scheduled for ')}, then public."
    if reason is not None:
        return f"Hidden: {reason}."
    chapter = getattr(obj, "chapter", None)
    if chapter is not None and not_live(chapter):
        return f"Hidden: its chapter “{chapter}” is {not_live(chapter)}."
    return "Hidden."


class CheckedSaveAdmin(ExtensibleModelAdmin):
    """A change form whose save is refused by a check of the state it leaves answers with
    the reasons and saves nothing (the admin's transaction is rolled back).

    The forms check that state before saving; this catches what changed meanwhile. Every
    write of the admin's pages is recorded as a revision named by its path: the form,
    the list (its editable columns and its actions, by name), deletion. A crafted action
    request naming rows that cannot exist is an error message, not a 500.
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
            with revisions.recording(revisions.ADMIN_FORM, user=request.user):
                return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            self.message_user(request, "Nothing was saved.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        action = self.get_actions(request).get(request.POST.get("action", ""))
        recorded_as = revisions.ADMIN_LIST
        if request.method == "POST" and action is not None:
            description = str(action[2]) % admin.utils.model_format_dict(self.opts)
            recorded_as = revisions.bulk_action_path(description)
        with revisions.recording(recorded_as, user=request.user):
            return super().changelist_view(request, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        with revisions.recording(revisions.ADMIN_DELETE, user=request.user):
            return super().delete_view(request, object_id, extra_context)


class EditedVersionForm(forms.ModelForm):
    """Carries the last recorded version the edit started from: a save over a newer one
    is refused with what changed meanwhile (no lost updates); saving again then replaces
    it knowingly, since the refused form now carries the newer version."""

    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["based_on"].initial = revisions.latest_version_id(self.instance)

    def clean(self):
        cleaned_data = super().clean()
        based_on = cleaned_data.get("based_on")
        if self.instance.pk is None or based_on is None:
            return cleaned_data
        latest = revisions.latest_version_id(self.instance)
        if latest != based_on:
            self.data = self.data.copy()
            self.data[self.add_prefix("based_on")] = latest
            raise ValidationError(
                [
                    f"This {self.instance._meta.verbose_name} was changed by someone else "
                    "since you opened it; nothing was saved.",
                    *changes_since(self.instance, based_on),
                    "Save again to replace their changes with yours, or reload the page to "
                    "start from theirs.",
                ],
                code="edit_conflict",
            )
        return cleaned_data


class ScheduleFilter(admin.SimpleListFilter):
    title = "schedule"
    parameter_name = "schedule"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("scheduled", "Scheduled"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(pk__in=queryset.model.objects.published().values("pk"))
        if self.value() == "scheduled":
            return queryset.filter(pk__in=queryset.model.objects.scheduled().values("pk"))
        if self.value() == "expired":
            return queryset.filter(pk__in=queryset.model.objects.expired().values("pk"))
        return queryset


class PublishableAdmin(CheckedSaveAdmin):
    """Saves chapters, terms and quizzes through the publishing service, with their inlines
    and links, so that the rules hold on the state the whole form leaves; shows their
    history with diffs, restores a version, mints preview links."""

    form = EditedVersionForm
    change_form_template = "admin/publishable_change_form.html"
    delete_confirmation_template = "admin/publishable_delete_confirmation.html"
    delete_selected_confirmation_template = "admin/publishable_delete_selected_confirmation.html"

    def delete_view(self, request, object_id, extra_context=None):
        """A protected object's delete page says why and offers to archive it instead."""
        context = {"can_archive": self.has_change_permission(request), **(extra_context or {})}
        return super().delete_view(request, object_id, context)

    def response_action(self, request, queryset):
        response = super().response_action(request, queryset)
        if isinstance(response, TemplateResponse) and "protected" in response.context_data:
            response.context_data["can_archive"] = self.has_change_permission(request)
        return response

    def save_model(self, request, obj, form, change):
        """Saved in save_related, together with what the form's inlines change."""

    def save_related(self, request, form, formsets, change):
        content_save(
            obj=form.instance,
            user=request.user,
            based_on=form.cleaned_data["based_on"] if change else None,
            save_related=lambda: self.save_form_relations(request, form, formsets, change),
        )

    def save_form_relations(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj):
        """The day of the last change (the time in the tooltip): short enough for a list."""
        when = timezone.localtime(obj.updated_at)
        return format_html(
            '<span title="{}">{}</span>', f"{when:%Y-%m-%d %H:%M %Z}", f"{when:%Y-%m-%d}"
        )

    def delete_model(self, request, obj):
        content_delete(queryset=self.model._base_manager.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        content_delete(queryset=queryset)

    @admin.display(description="Schedule")
    def schedule(self, obj):
        state = obj.schedule_state
        if state == "scheduled":
            return f"Scheduled for {obj.go_live_at:%Y-%m-%d %H:%M}"
        if state == "expired":
            return f"Expired {obj.expire_at:%Y-%m-%d %H:%M}"
        if state == "live" and obj.expire_at:
            return f"Live until {obj.expire_at:%Y-%m-%d %H:%M}"
        return state.capitalize()

    # The frontend page of an object (terms.linking), linked from its admin page when
    # FRONTEND_URL is set; None: no page of its own.
    live_page_url = None

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "reader_view"]

    def get_fieldsets(self, request, obj=None):
        """The declared fieldsets, with what readers see first (on an existing object)
        and the edit's base version."""
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != "reader_view"]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if obj is not None:
            name, options = fieldsets[0]
            fieldsets[0] = (name, {**options, "fields": ["reader_view", *options["fields"]]})
        if "based_on" not in admin.utils.flatten_fieldsets(fieldsets):
            fieldsets.append((None, {"fields": ["based_on"]}))
        return fieldsets

    @admin.display(description="Readers see")
    def reader_view(self, obj):
        """What a reader of the frontends sees of the object as stored: decided by the
        model's visibility QuerySet, explained from its status, schedule and chapter."""
        if obj is None or obj.pk is None:
            return "—"
        if type(obj).objects.published().filter(pk=obj.pk).exists():
            said = "Public: on the site and in the API"
            if obj.expire_at:
                said += f" until {timezone.localtime(obj.expire_at):%Y-%m-%d %H:%M %Z}"
            url = self.live_page_url(obj.slug) if self.live_page_url else None
            if url and settings.FRONTEND_URL:
                return format_html(
                    '<strong class="reader-public">{}.</strong> '
                    '<a href="{}" class="live-page-link" target="_blank" rel="noopener">'
                    "Open the live page</a>",
                    said, url,
                )  # fmt: skip
            return format_html('<strong class="reader-public">{}.</strong>', said)
        return format_html('<strong class="reader-hidden">{}</strong>', hidden_because(obj))

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/history/<int:version_id>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="{}_{}_restore".format(*info),
            ),
            path(
                "preview/revoke/",
                self.admin_site.admin_view(self.revoke_previews_view),
                name="{}_{}_revoke_previews".format(*info),
            ),
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="{}_{}_preview".format(*info),
            ),
            *super().get_urls(),
        ]

    def revoke_previews_view(self, request):
        """Every preview link the signed-in staff member minted stops working (POST)."""
        from glossary_backend.preview import preview_tokens_revoke

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        preview_tokens_revoke(user=request.user)
        self.message_user(request, "All your preview links are revoked.", messages.SUCCESS)
        return HttpResponseRedirect(request.POST.get("next") or reverse("admin:index"))

    def history_view(self, request, object_id, extra_context=None):
        """Each recorded version, newest first, with what it changed from the one before."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        versions = list(
            Version.objects.get_for_object(obj).select_related("revision__user")[
                : HISTORY_LENGTH + 1
            ]
        )
        described = [revisions.describe(revisions.state_of(version)) for version in versions]
        entries = [
            {
                "version": version,
                "changes": revisions.diff(
                    described[index + 1] if index + 1 < len(described) else None,
                    described[index],
                ),
            }
            for index, version in enumerate(versions[:HISTORY_LENGTH])
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": obj,
            "title": f"History: {obj}",
            "entries": entries,
            "latest_version_id": versions[0].pk if versions else 0,
            "can_restore": self.has_change_permission(request, obj),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/revision_history.html", context)

    def restore_view(self, request, object_id, version_id):
        """Restores a version (POST), refused with the reasons when it would break a rule
        or when the object changed since the history page was opened."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_for_object(obj), pk=version_id)
        based_on = request.POST.get("based_on", "")
        try:
            content_restore(
                version=version,
                user=request.user,
                based_on=int(based_on) if based_on.isascii() and based_on.isdigit() else -1,
            )
        except ValidationError as error:
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            self.message_user(request, "Nothing was restored.", messages.ERROR)
        else:
            when = version.revision.date_created
            self.message_user(
                request,
                f"Restored “{obj}” as it was on {when:%Y-%m-%d %H:%M}, as a new version.",
                messages.SUCCESS,
            )
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_history".format(*info), args=[obj.pk]))

    def preview_view(self, request, object_id):
        """Sends an editor who may change the object to the frontend's preview route with
        a fresh token (PREVIEW_TOKEN_MINUTES)."""
        from glossary_backend.preview import preview_token_mint

        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        token = preview_token_mint(obj=obj, user=request.user)
        return HttpResponseRedirect(
            settings.FRONTEND_PREVIEW_URL.format(
                token=token, type=self.opts.model_name, slug=obj.slug
            )
        )


@admin.register(Chapter)
class ChapterAdmin(PublishableAdmin):
    list_display = [
        "title",
        "position",
        "status",
        "published_term_count",
        "draft_term_count",
        "schedule",
        "terms_link",
        "updated",
    ]
    list_editable = ["position"]
    list_filter = ["status", ScheduleFilter]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["published_at", "created_at", "updated_at"]
    actions = [publish, unpublish, archive]
    live_page_url = staticmethod(chapter_url)

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


# The term list's export: the import's columns first, so the file imports back as it is.
EXPORT_COLUMNS = [*IMPORT_COLUMNS, "slug", "chapter", "status"]


@admin.action(description="Export selected terms (CSV)", permissions=["view"])
def export_terms(modeladmin, request, queryset):
    """The selected terms, drafts included, as CSV that import_terms reads back."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="terms.csv"'
    writer = csv.writer(response)
    writer.writerow(EXPORT_COLUMNS)
    for term in queryset.select_related("chapter").order_by(*Term._meta.ordering):
        writer.writerow(
            [term.name, term.abbreviation, term.expansion, term.definition,
             term.slug, term.chapter.slug, term.status]
        )  # fmt: skip
    return response


class TermImportForm(forms.Form):
    """The admin's import: a file and the chapter its terms belong to (terms_import)."""

    file = forms.FileField(
        help_text="A .tsv, .csv or .xlsx file whose first line names the columns: "
        f"{', '.join(IMPORT_COLUMNS)} (name and definition are required).",
    )
    chapter = forms.ModelChoiceField(queryset=Chapter.objects.all())
    publish = forms.BooleanField(
        required=False, label="Publish new terms", help_text="Otherwise new terms are drafts."
    )

    def clean(self):
        cleaned_data = super().clean()
        upload = cleaned_data.get("file")
        if upload is not None:
            try:
                cleaned_data["rows"] = read_term_table(upload.name, upload.read())
            except (UnicodeDecodeError, ValueError) as error:
                reason = "it is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else error
                raise ValidationError({"file": f"Cannot read {upload.name}: {reason}"}) from None
        return cleaned_data


# How long a previewed import may wait for its confirmation.
IMPORT_PREVIEW_SECONDS = 3600


class TermAdminForm(EditedVersionForm):
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
            "abbreviation", "expansion", "aliases", "go_live_at", "expire_at",
            "seo_title", "seo_description",
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
    change_list_template = "admin/terms/term/change_list.html"
    list_display = ["name", "abbreviation", "chapter", "status", "schedule", "updated"]
    list_select_related = ["chapter"]
    list_filter = ["chapter", "status", ScheduleFilter]
    search_fields = ["name", "abbreviation", "aliases", "definition"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["chapter"]
    readonly_fields = ["published_at", "created_at", "updated_at", "created_by", "updated_by"]
    actions = [publish, unpublish, archive, export_terms]
    live_page_url = staticmethod(term_url)
    fieldsets = [
        (None, {"fields": ["name", "slug", "chapter", "status", "based_on"]}),
        ("Schedule", {"fields": ["go_live_at", "expire_at"]}),
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

    def save_form_relations(self, request, form, formsets, change):
        super().save_form_relations(request, form, formsets, change)
        term_set_related(term=form.instance, related=form.cleaned_data["see_also"])
        # Names and texts decide the links of every term, not only of this one.
        term_mentions_refresh()

    def get_urls(self):
        report = path(
            "editorial-report/",
            self.admin_site.admin_view(self.editorial_report_view),
            name="terms_term_editorial_report",
        )
        importing = path(
            "import/", self.admin_site.admin_view(self.import_view), name="terms_term_import"
        )
        return [report, importing, *super().get_urls()]

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        context = {"has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def import_view(self, request):
        """Import terms from a file (terms_import, as the import_terms command): the
        first POST previews every row (new, changed with its differences, unchanged,
        invalid) and writes nothing; confirming imports exactly the previewed rows, all
        or nothing."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import terms",
        }
        if request.method == "POST" and "confirm" in request.POST:
            return self._import_confirmed(request)
        form = TermImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            chapter, publish = form.cleaned_data["chapter"], form.cleaned_data["publish"]
            rows = form.cleaned_data["rows"]
            report = terms_import(rows=rows, chapter=chapter, publish=publish, dry_run=True)
            context.update(
                title=f"Import terms into {chapter}: preview",
                report=report,
                to_write=len(report.created) + len(report.updated),
                chapter=chapter,
                publish=publish,
                file_name=form.cleaned_data["file"].name,
                payload=signing.dumps(
                    {
                        "rows": rows,
                        "chapter": chapter.pk,
                        "publish": publish,
                        "file": form.cleaned_data["file"].name,
                    },
                    salt="terms-import",
                    compress=True,
                ),
            )
            return TemplateResponse(request, "admin/terms/term/import_preview.html", context)
        context["form"] = form
        return TemplateResponse(request, "admin/terms/term/import.html", context)

    def _import_confirmed(self, request):
        changelist = reverse("admin:terms_term_changelist")
        try:
            payload = signing.loads(
                request.POST.get("payload", ""), salt="terms-import", max_age=IMPORT_PREVIEW_SECONDS
            )
            chapter = Chapter.objects.get(pk=payload["chapter"])
        except (signing.BadSignature, Chapter.DoesNotExist):
            self.message_user(
                request,
                "This preview has expired or its chapter is gone; nothing was imported. "
                "Upload the file again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:terms_term_import"))
        path_name = f"admin import {payload['file']}"
        with revisions.recording(path_name, user=request.user):
            report = terms_import(rows=payload["rows"], chapter=chapter, publish=payload["publish"])
        if report.errors:
            for error in report.errors:
                self.message_user(request, error, messages.ERROR)
            self.message_user(
                request, "The terms changed since the preview; nothing was imported.",
                messages.ERROR,
            )  # fmt: skip
            return HttpResponseRedirect(reverse("admin:terms_term_import"))
        self.message_user(request, f"Imported into {chapter}: {report.summary}.", messages.SUCCESS)
        return HttpResponseRedirect(changelist)

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


class ContentTypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [
            (model._meta.model_name, str(model._meta.verbose_name).capitalize())
            for model in revisions.content_models()
        ]

    def queryset(self, request, queryset):
        for model in revisions.content_models():
            if self.value() == model._meta.model_name:
                return queryset.filter(content_type=ContentType.objects.get_for_model(model))
        return queryset


@admin.register(AuditEntry)
class AuditLogAdmin(admin.ModelAdmin):
    """Every recorded change of chapters, terms and quizzes, site-wide: by person, type
    and date. Read-only; each entry links to the object's history with its diff."""

    list_display = ["date", "author", "kind", "object_link", "path"]
    list_filter = [
        ContentTypeFilter,
        ("revision__user", admin.RelatedOnlyFieldListFilter),
        "revision__date_created",
    ]
    date_hierarchy = "revision__date_created"
    search_fields = ["object_repr", "revision__comment"]
    list_select_related = ["revision__user", "content_type"]
    actions = None

    def get_queryset(self, request):
        kinds = ContentType.objects.get_for_models(*revisions.content_models()).values()
        return (
            super()
            .get_queryset(request)
            .filter(content_type__in=kinds)
            .order_by("-revision__date_created", "-pk")
        )

    def has_view_permission(self, request, obj=None):
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and any(
                user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
                for model in revisions.content_models()
            )
        )

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Date", ordering="revision__date_created")
    def date(self, entry):
        return entry.revision.date_created

    @admin.display(description="Person", ordering="revision__user")
    def author(self, entry):
        return entry.revision.user or "—"

    @admin.display(description="Type", ordering="content_type")
    def kind(self, entry):
        return str(entry.content_type.model_class()._meta.verbose_name).capitalize()

    @admin.display(description="Object")
    def object_link(self, entry):
        opts = entry.content_type.model_class()._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[entry.object_id])
        return format_html('<a href="{}">{}</a>', url, entry.object_repr)

    @admin.display(description="Path", ordering="revision__comment")
    def path(self, entry):
        return entry.revision.comment
