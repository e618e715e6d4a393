# The analytics permission is the analytics app's now (quizzes 0008 stopped declaring
# it on Quiz). It keeps its content type (quizzes.quiz) and codename, so the grants of
# the Analysts group and of single users stay valid; this makes sure the row exists.

from django.db import migrations


def ensure_permission(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    quiz_type, _ = ContentType.objects.get_or_create(app_label="quizzes", model="quiz")
    Permission.objects.get_or_create(
        content_type=quiz_type,
        codename="view_quiz_analytics",
        defaults={"name": "Can view quiz analytics and export attempts"},
    )


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0002_signed_counters'),
        ('quizzes', '0008_rollups_moved_to_analytics'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.RunPython(ensure_permission, migrations.RunPython.noop),
    ]
