from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from analytics.tokens import bearer_token_auth
from analytics.views import export
from glossary_backend import admin as site_admin  # registers the site's admin
from glossary_backend.schema import schema
from glossary_backend.security import GraphQLView
from glossary_backend.views import landing, readme
from terms.views import glossary_download

# What the admin's own templates, which the password reset pages extend, show in the header.
ADMIN_PAGE = {"site_header": admin.site.site_header, "site_title": admin.site.site_title}

PASSWORD_RESET_PAGES = [
    ("admin/password_reset/", auth_views.PasswordResetView,
     {"form_class": site_admin.StaffPasswordResetForm}, "admin_password_reset"),
    ("admin/password_reset/done/", auth_views.PasswordResetDoneView, {}, "password_reset_done"),
    ("admin/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView, {},
     "password_reset_confirm"),
    ("admin/reset/done/", auth_views.PasswordResetCompleteView, {}, "password_reset_complete"),
]  # fmt: skip

urlpatterns = [
    path("", landing, name="landing"),
    path("README.md", readme, name="readme"),
    # Staff password reset, by email (EMAIL_URL); the admin's login page links to it.
    *(
        path(route, view.as_view(extra_context=ADMIN_PAGE, **options), name=name)
        for route, view, options, name in PASSWORD_RESET_PAGES
    ),
    path("admin/", admin.site.urls),
    # Public content downloads; before the staff analytics exports, whose pattern is wider.
    # An analyst's API token (Authorization: Bearer) works on the exports and the API, never
    # in the admin.
    re_path(
        r"^exports/glossary\.(?P<fmt>[a-z]+)$",
        bearer_token_auth(glossary_download),
        name="glossary-download",
    ),
    re_path(
        r"^exports/(?P<dataset>[a-z]+)\.(?P<fmt>[a-z]+)$", bearer_token_auth(export), name="export"
    ),
    # Frontends call the API cross-origin without cookies, so there is no CSRF token to
    # check; staff sessions only widen what reads return.
    path(
        "graphql",
        csrf_exempt(
            bearer_token_auth(
                GraphQLView.as_view(
                    schema=schema, graphql_ide="graphiql" if settings.DEBUG else None
                )
            )
        ),
        name="graphql",
    ),
]
