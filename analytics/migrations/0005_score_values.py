# Raw scores become a measure of the daily value roll-up (the dashboard's histogram counts
# them); the attempts stored so far get theirs here. As in 0004, the statement is frozen
# as analytics.rollups generates it, so replaying history never depends on later code.

from django.db import migrations, models


SELECT_DAY = {
    "postgresql": '("quizzes_quizattempt"."submitted_at" AT TIME ZONE %s)::date',
    "sqlite": 'django_datetime_cast_date("quizzes_quizattempt"."submitted_at", %s, %s)',
}
DAY_PARAMS = {"postgresql": ("UTC",), "sqlite": ("UTC", "UTC")}
FILL_SCORES = (
    'INSERT INTO "quizzes_quizdayvalue" ("quiz_id", "day", "measure", "value", "attempts") '
    'SELECT "quizzes_quizattempt"."quiz_id" AS "quiz_id", {day} AS "day", %s AS "measure", '
    'CAST("quizzes_quizattempt"."score" AS double precision) AS "value", '
    'COUNT("quizzes_quizattempt"."id") AS "n_attempts" FROM "quizzes_quizattempt" '
    "GROUP BY 1, 2, 4 ORDER BY 1 ASC, 2 ASC, 3 ASC, 4 ASC "
    'ON CONFLICT ("quiz_id", "day", "measure", "value") '
    'DO UPDATE SET "attempts" = "quizzes_quizdayvalue"."attempts" + excluded."attempts"'
)


def fill_scores(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FILL_SCORES.format(day=SELECT_DAY[vendor]), (*DAY_PARAMS[vendor], "score"))


def drop_scores(apps, schema_editor):
    apps.get_model("analytics", "QuizDayValue").objects.filter(measure="score").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0004_fill_rollups'),
    ]

    operations = [
        migrations.AlterField(
            model_name='quizdayvalue',
            name='measure',
            field=models.CharField(choices=[('percentage', 'Percentage'), ('score', 'Score'), ('duration', 'Duration')], max_length=16),
        ),
        migrations.RunPython(fill_scores, drop_scores),
    ]
