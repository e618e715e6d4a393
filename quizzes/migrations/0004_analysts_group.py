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


def historical_permissions(apps, app_label, codenames):
    """The permissions `codenames` of `app_label` as this migration's models declare them,
    created when missing (Django creates permissions only after the whole migrate run).
    Frozen here rather than calling create_permissions(), which reads the live models:
    replaying this migration must not depend on what the models declare today."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    found = []
    for model in apps.get_app_config(app_label).get_models():
        opts = model._meta
        content_type, _ = ContentType.objects.get_or_create(
            app_label=app_label, model=opts.model_name
        )
        declared = {
            f"{action}_{opts.model_name}": f"Can {action} {opts.verbose_name_raw}"
            for action in opts.default_permissions
        }
        declared.update(dict(opts.permissions))
        for codename, name in declared.items():
            if codename in codenames:
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type, codename=codename, defaults={"name": name}
                )
                found.append(permission)
    return found


def create_analysts_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    analysts, _ = Group.objects.get_or_create(name=ANALYSTS)
    analysts.permissions.add(
        *historical_permissions(apps, "quizzes", ANALYST_PERMISSIONS),
        # The dashboard links to the terms learners miss.
        *historical_permissions(apps, "terms", ["view_term", "view_chapter"]),
    )


def remove_analysts_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ANALYSTS).delete()


class Migration(migrations.Migration):
    dependencies = [("quizzes", "0003_analytics_permission"), ("terms", "0002_editors_group")]

    operations = [migrations.RunPython(create_analysts_group, remove_analysts_group)]
