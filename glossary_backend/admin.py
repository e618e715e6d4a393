"""Admin classes of libraries, adjusted where the site is composed.

Every admin action declares the permissions it needs; django-axes' clean-up action
declares none, so anyone who may view login attempts could delete them.
"""

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.forms import PasswordResetForm

admin.site.site_header = "Glossary administration"
admin.site.site_title = "Glossary admin"
# "View site": the frontend, or this backend's landing page.
admin.site.site_url = settings.FRONTEND_URL or "/"


class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    actions = ["cleanup_expired_attempts"]

    @admin.action(
        description=AxesAccessAttemptAdmin.cleanup_expired_attempts.short_description,
        permissions=["delete"],
    )
    def cleanup_expired_attempts(self, request, queryset):
        return super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)


class StaffPasswordResetForm(PasswordResetForm):
    """The admin's password reset: only active staff with a password get an email; the
    page answers the same whatever address is typed, so it tells nobody who has an
    account."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if user.is_staff)
