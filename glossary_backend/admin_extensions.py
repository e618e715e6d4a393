"""Admin pages one app owns and others extend, without replacing the owner's classes.

An app that adds to another app's admin (a column, an action, a page) declares an
`AdminExtension` and appends it to the owner's ModelAdmin class, from its own admin
module: `TermAdmin.extensions.append(MissRate())`. The owner's class, registered once
by the owner, asks its extensions at request time, so the order in which the admin
modules are imported does not matter and the owner imports nothing of the extenders.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from django.contrib import admin


class AdminExtension:
    """What an app adds to another app's ModelAdmin; override the parts you add.

    Actions declare their permissions as usual (`@admin.action(permissions=["x"])`);
    each name not known to Django is checked by `permissions["x"](request)`.
    """

    actions: Sequence[Callable] = ()
    permissions: Mapping[str, Callable] = {}

    def list_display(self, request) -> list:
        """Columns appended to the change list for this request."""
        return []

    def queryset(self, request, queryset):
        """The change list's queryset, with what the extension's columns read."""
        return queryset

    def urls(self, model_admin) -> list:
        """URL patterns added under the model's admin URLs."""
        return []

    def change_view_context(self, request) -> dict:
        """Template context added to the change form."""
        return {}


class ExtensibleModelAdmin(admin.ModelAdmin):
    """A ModelAdmin that composes its own options with its class's `extensions`."""

    extensions: ClassVar[list[AdminExtension]] = []
    own_actions: ClassVar[Sequence] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.extensions = []
        # The class's own `actions` list becomes `own_actions`; `actions` (read by
        # Django's action machinery and checks) adds the extensions' actions to it.
        if "actions" in cls.__dict__:
            cls.own_actions = cls.__dict__["actions"]
            delattr(cls, "actions")

    @property
    def actions(self):
        return [*self.own_actions, *(a for extension in self.extensions for a in extension.actions)]

    def __getattr__(self, name: str):
        if name.startswith("has_") and name.endswith("_permission"):
            permission = name.removeprefix("has_").removesuffix("_permission")
            for extension in type(self).extensions:
                if permission in extension.permissions:
                    return extension.permissions[permission]
        raise AttributeError(name)

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        for extension in self.extensions:
            columns += extension.list_display(request)
        return columns

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        for extension in self.extensions:
            queryset = extension.queryset(request, queryset)
        return queryset

    def get_urls(self):
        added = [url for extension in self.extensions for url in extension.urls(self)]
        return [*added, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        for extension in self.extensions:
            context.update(extension.change_view_context(request))
        return super().change_view(request, object_id, form_url, context)
