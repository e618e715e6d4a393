from django.db import migrations

EDITORS = "Editors"
QUIZ_PERMISSIONS = [
    f"{action}_{model}"
    for model in ("quiz", "question", "choice")
    for action in ("add", "change", "delete", "view")
] + ["view_quizattempt", "view_attemptanswer"]


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


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.add(*historical_permissions(apps, "quizzes", QUIZ_PERMISSIONS))


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
