from django.contrib.auth.management import create_permissions
from django.db import migrations

ANALYSTS = "Analysts"
ANALYST_PERMISSIONS = [
    "view_quiz_analytics",
    "view_quiz",
    "view_question",
    "view_choice",
    "view_quizattempt",
    "view_attemptanswer",
]


def create_analysts_group(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    analysts, _ = Group.objects.get_or_create(name=ANALYSTS)
    analysts.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="quizzes", codename__in=ANALYST_PERMISSIONS
        ),
        # The dashboard links to the terms learners miss.
        *Permission.objects.filter(
            content_type__app_label="terms", codename__in=["view_term", "view_chapter"]
        ),
    )


def remove_analysts_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ANALYSTS).delete()


class Migration(migrations.Migration):
    dependencies = [("quizzes", "0003_analytics_permission"), ("terms", "0002_editors_group")]

    operations = [migrations.RunPython(create_analysts_group, remove_analysts_group)]
