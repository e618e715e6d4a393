from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"
QUIZ_PERMISSIONS = [
    f"{action}_{model}"
    for model in ("quiz", "question", "choice")
    for action in ("add", "change", "delete", "view")
] + ["view_quizattempt", "view_attemptanswer"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.add(
        *Permission.objects.filter(content_type__app_label="quizzes", codename__in=QUIZ_PERMISSIONS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors = Group.objects.filter(name=EDITORS).first()
    if editors:
        editors.permissions.remove(
            *Permission.objects.filter(content_type__app_label="quizzes")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("quizzes", "0001_initial"),
        ("terms", "0002_editors_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
