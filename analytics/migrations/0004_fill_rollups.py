# Fills the roll-ups from the attempts stored so far: quizzes 0006 created the tables
# without filling them, and deletions or bulk loads since may have left them behind.
# The statements are frozen here, as analytics.rollups generated them when this was
# written (every attempt, sign +1), so that replaying history never depends on how
# later code defines roll-ups; `manage.py rollups rebuild` runs the live definition.

from django.db import migrations

ROLLUP_TABLES = [
    "quizzes_quizday", "quizzes_quizdayvalue", "quizzes_questionday", "quizzes_choiceday"
]

STATEMENTS = {
    'postgresql': [
        (
            'INSERT INTO "quizzes_quizday" ("quiz_id", "day", "attempts", "passed", "percentage_sum", "percentage_square_sum", "score_sum", "score_square_sum", "timed", "duration_seconds_sum") SELECT "quizzes_quizattempt"."quiz_id" AS "quiz_id", ("quizzes_quizattempt"."submitted_at" AT TIME ZONE %s)::date AS "day", (COUNT("quizzes_quizattempt"."id") * %s) AS "n_attempts", (COUNT("quizzes_quizattempt"."id") FILTER (WHERE "quizzes_quizattempt"."passed") * %s) AS "n_passed", (SUM("quizzes_quizattempt"."percentage") * %s) AS "n_percentage_sum", (SUM(("quizzes_quizattempt"."percentage" * "quizzes_quizattempt"."percentage")) * %s) AS "n_percentage_square_sum", (SUM("quizzes_quizattempt"."score") * %s) AS "n_score_sum", (SUM(("quizzes_quizattempt"."score" * "quizzes_quizattempt"."score")) * %s) AS "n_score_square_sum", (COUNT("quizzes_quizattempt"."duration") * %s) AS "n_timed", (COALESCE(SUM(EXTRACT(EPOCH FROM "quizzes_quizattempt"."duration")::float8), %s) * %s) AS "n_duration_seconds_sum" FROM "quizzes_quizattempt" GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("quiz_id", "day") DO UPDATE SET "attempts" = "quizzes_quizday"."attempts" + excluded."attempts", "passed" = "quizzes_quizday"."passed" + excluded."passed", "percentage_sum" = "quizzes_quizday"."percentage_sum" + excluded."percentage_sum", "percentage_square_sum" = "quizzes_quizday"."percentage_square_sum" + excluded."percentage_square_sum", "score_sum" = "quizzes_quizday"."score_sum" + excluded."score_sum", "score_square_sum" = "quizzes_quizday"."score_square_sum" + excluded."score_square_sum", "timed" = "quizzes_quizday"."timed" + excluded."timed", "duration_seconds_sum" = "quizzes_quizday"."duration_seconds_sum" + excluded."duration_seconds_sum"',
            ('UTC', 1, 1, 1, 1, 1, 1, 1, 0.0, 1),
        ),
        (
            'INSERT INTO "quizzes_quizdayvalue" ("quiz_id", "day", "measure", "value", "attempts") SELECT "quizzes_quizattempt"."quiz_id" AS "quiz_id", ("quizzes_quizattempt"."submitted_at" AT TIME ZONE %s)::date AS "day", %s AS "measure", "quizzes_quizattempt"."percentage" AS "value", (COUNT("quizzes_quizattempt"."id") * %s) AS "n_attempts" FROM "quizzes_quizattempt" GROUP BY 1, 2, 4 ORDER BY 1 ASC, 2 ASC, 3 ASC, 4 ASC ON CONFLICT ("quiz_id", "day", "measure", "value") DO UPDATE SET "attempts" = "quizzes_quizdayvalue"."attempts" + excluded."attempts"',
            ('UTC', 'percentage', 1),
        ),
        (
            'INSERT INTO "quizzes_quizdayvalue" ("quiz_id", "day", "measure", "value", "attempts") SELECT "quizzes_quizattempt"."quiz_id" AS "quiz_id", ("quizzes_quizattempt"."submitted_at" AT TIME ZONE %s)::date AS "day", %s AS "measure", FLOOR((EXTRACT(EPOCH FROM "quizzes_quizattempt"."duration")::float8 + %s)) AS "value", (COUNT("quizzes_quizattempt"."id") * %s) AS "n_attempts" FROM "quizzes_quizattempt" WHERE "quizzes_quizattempt"."duration" IS NOT NULL GROUP BY 1, 2, 4 ORDER BY 1 ASC, 2 ASC, 3 ASC, 4 ASC ON CONFLICT ("quiz_id", "day", "measure", "value") DO UPDATE SET "attempts" = "quizzes_quizdayvalue"."attempts" + excluded."attempts"',
            ('UTC', 'duration', 0.5, 1),
        ),
        (
            'INSERT INTO "quizzes_questionday" ("question_id", "day", "seen", "correct", "score_sum_right", "score_sum_wrong") SELECT "quizzes_attemptanswer"."question_id" AS "question_id", ("quizzes_quizattempt"."submitted_at" AT TIME ZONE %s)::date AS "day", (COUNT("quizzes_attemptanswer"."id") * %s) AS "n_seen", (COUNT("quizzes_attemptanswer"."id") FILTER (WHERE "quizzes_attemptanswer"."is_correct") * %s) AS "n_correct", (COALESCE(SUM("quizzes_quizattempt"."score") FILTER (WHERE "quizzes_attemptanswer"."is_correct"), %s) * %s) AS "n_score_sum_right", (COALESCE(SUM("quizzes_quizattempt"."score") FILTER (WHERE NOT "quizzes_attemptanswer"."is_correct"), %s) * %s) AS "n_score_sum_wrong" FROM "quizzes_attemptanswer" INNER JOIN "quizzes_quizattempt" ON ("quizzes_attemptanswer"."attempt_id" = "quizzes_quizattempt"."id") GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("question_id", "day") DO UPDATE SET "seen" = "quizzes_questionday"."seen" + excluded."seen", "correct" = "quizzes_questionday"."correct" + excluded."correct", "score_sum_right" = "quizzes_questionday"."score_sum_right" + excluded."score_sum_right", "score_sum_wrong" = "quizzes_questionday"."score_sum_wrong" + excluded."score_sum_wrong"',
            ('UTC', 1, 1, 0, 1, 0, 1),
        ),
        (
            'INSERT INTO "quizzes_questionday" ("question_id", "day", "answered", "score_sum_answered") SELECT "quizzes_attemptanswer"."question_id" AS "question_id", ("quizzes_quizattempt"."submitted_at" AT TIME ZONE %s)::date AS "day", (COUNT("quizzes_attemptanswer"."id") * %s) AS "n_answered", (SUM("quizzes_quizattempt"."score") * %s) AS "n_score_sum_answered" FROM "quizzes_attemptanswer" INNER JOIN "quizzes_quizattempt" ON ("quizzes_attemptanswer"."attempt_id" = "quizzes_quizattempt"."id") WHERE EXISTS(SELECT %s AS "a" FROM "quizzes_attemptanswerchoice" U0 WHERE U0."answer_id" = ("quizzes_attemptanswer"."id") LIMIT 1) GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("question_id", "day") DO UPDATE SET "answered" = "quizzes_questionday"."answered" + excluded."answered", "score_sum_answered" = "quizzes_questionday"."score_sum_answered" + excluded."score_sum_answered"',
            ('UTC', 1, 1, 1),
        ),
        (
            'INSERT INTO "quizzes_choiceday" ("choice_id", "day", "picks", "score_sum") SELECT "quizzes_attemptanswerchoice"."choice_id" AS "choice_id", ("quizzes_quizattempt"."submitted_at" AT TIME ZONE %s)::date AS "day", (COUNT("quizzes_attemptanswerchoice"."id") * %s) AS "n_picks", (SUM("quizzes_quizattempt"."score") * %s) AS "n_score_sum" FROM "quizzes_attemptanswerchoice" INNER JOIN "quizzes_attemptanswer" ON ("quizzes_attemptanswerchoice"."answer_id" = "quizzes_attemptanswer"."id") INNER JOIN "quizzes_quizattempt" ON ("quizzes_attemptanswer"."attempt_id" = "quizzes_quizattempt"."id") GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("choice_id", "day") DO UPDATE SET "picks" = "quizzes_choiceday"."picks" + excluded."picks", "score_sum" = "quizzes_choiceday"."score_sum" + excluded."score_sum"',
            ('UTC', 1, 1),
        ),
    ],
    'sqlite': [
        (
            'INSERT INTO "quizzes_quizday" ("quiz_id", "day", "attempts", "passed", "percentage_sum", "percentage_square_sum", "score_sum", "score_square_sum", "timed", "duration_seconds_sum") SELECT "quizzes_quizattempt"."quiz_id" AS "quiz_id", django_datetime_cast_date("quizzes_quizattempt"."submitted_at", %s, %s) AS "day", (COUNT("quizzes_quizattempt"."id") * %s) AS "n_attempts", (COUNT("quizzes_quizattempt"."id") FILTER (WHERE "quizzes_quizattempt"."passed") * %s) AS "n_passed", (SUM("quizzes_quizattempt"."percentage") * %s) AS "n_percentage_sum", (SUM(("quizzes_quizattempt"."percentage" * "quizzes_quizattempt"."percentage")) * %s) AS "n_percentage_square_sum", (SUM("quizzes_quizattempt"."score") * %s) AS "n_score_sum", (SUM(("quizzes_quizattempt"."score" * "quizzes_quizattempt"."score")) * %s) AS "n_score_square_sum", (COUNT("quizzes_quizattempt"."duration") * %s) AS "n_timed", (COALESCE(SUM(("quizzes_quizattempt"."duration" / 1000000.0)), %s) * %s) AS "n_duration_seconds_sum" FROM "quizzes_quizattempt" GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("quiz_id", "day") DO UPDATE SET "attempts" = "quizzes_quizday"."attempts" + excluded."attempts", "passed" = "quizzes_quizday"."passed" + excluded."passed", "percentage_sum" = "quizzes_quizday"."percentage_sum" + excluded."percentage_sum", "percentage_square_sum" = "quizzes_quizday"."percentage_square_sum" + excluded."percentage_square_sum", "score_sum" = "quizzes_quizday"."score_sum" + excluded."score_sum", "score_square_sum" = "quizzes_quizday"."score_square_sum" + excluded."score_square_sum", "timed" = "quizzes_quizday"."timed" + excluded."timed", "duration_seconds_sum" = "quizzes_quizday"."duration_seconds_sum" + excluded."duration_seconds_sum"',
            ('UTC', 'UTC', 1, 1, 1, 1, 1, 1, 1, 0.0, 1),
        ),
        (
            'INSERT INTO "quizzes_quizdayvalue" ("quiz_id", "day", "measure", "value", "attempts") SELECT "quizzes_quizattempt"."quiz_id" AS "quiz_id", django_datetime_cast_date("quizzes_quizattempt"."submitted_at", %s, %s) AS "day", %s AS "measure", "quizzes_quizattempt"."percentage" AS "value", (COUNT("quizzes_quizattempt"."id") * %s) AS "n_attempts" FROM "quizzes_quizattempt" GROUP BY 1, 2, 4 ORDER BY 1 ASC, 2 ASC, 3 ASC, 4 ASC ON CONFLICT ("quiz_id", "day", "measure", "value") DO UPDATE SET "attempts" = "quizzes_quizdayvalue"."attempts" + excluded."attempts"',
            ('UTC', 'UTC', 'percentage', 1),
        ),
        (
            'INSERT INTO "quizzes_quizdayvalue" ("quiz_id", "day", "measure", "value", "attempts") SELECT "quizzes_quizattempt"."quiz_id" AS "quiz_id", django_datetime_cast_date("quizzes_quizattempt"."submitted_at", %s, %s) AS "day", %s AS "measure", FLOOR((("quizzes_quizattempt"."duration" / 1000000.0) + %s)) AS "value", (COUNT("quizzes_quizattempt"."id") * %s) AS "n_attempts" FROM "quizzes_quizattempt" WHERE "quizzes_quizattempt"."duration" IS NOT NULL GROUP BY 1, 2, 4 ORDER BY 1 ASC, 2 ASC, 3 ASC, 4 ASC ON CONFLICT ("quiz_id", "day", "measure", "value") DO UPDATE SET "attempts" = "quizzes_quizdayvalue"."attempts" + excluded."attempts"',
            ('UTC', 'UTC', 'duration', 0.5, 1),
        ),
        (
            'INSERT INTO "quizzes_questionday" ("question_id", "day", "seen", "correct", "score_sum_right", "score_sum_wrong") SELECT "quizzes_attemptanswer"."question_id" AS "question_id", django_datetime_cast_date("quizzes_quizattempt"."submitted_at", %s, %s) AS "day", (COUNT("quizzes_attemptanswer"."id") * %s) AS "n_seen", (COUNT("quizzes_attemptanswer"."id") FILTER (WHERE "quizzes_attemptanswer"."is_correct") * %s) AS "n_correct", (COALESCE(SUM("quizzes_quizattempt"."score") FILTER (WHERE "quizzes_attemptanswer"."is_correct"), %s) * %s) AS "n_score_sum_right", (COALESCE(SUM("quizzes_quizattempt"."score") FILTER (WHERE NOT "quizzes_attemptanswer"."is_correct"), %s) * %s) AS "n_score_sum_wrong" FROM "quizzes_attemptanswer" INNER JOIN "quizzes_quizattempt" ON ("quizzes_attemptanswer"."attempt_id" = "quizzes_quizattempt"."id") GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("question_id", "day") DO UPDATE SET "seen" = "quizzes_questionday"."seen" + excluded."seen", "correct" = "quizzes_questionday"."correct" + excluded."correct", "score_sum_right" = "quizzes_questionday"."score_sum_right" + excluded."score_sum_right", "score_sum_wrong" = "quizzes_questionday"."score_sum_wrong" + excluded."score_sum_wrong"',
            ('UTC', 'UTC', 1, 1, 0, 1, 0, 1),
        ),
        (
            'INSERT INTO "quizzes_questionday" ("question_id", "day", "answered", "score_sum_answered") SELECT "quizzes_attemptanswer"."question_id" AS "question_id", django_datetime_cast_date("quizzes_quizattempt"."submitted_at", %s, %s) AS "day", (COUNT("quizzes_attemptanswer"."id") * %s) AS "n_answered", (SUM("quizzes_quizattempt"."score") * %s) AS "n_score_sum_answered" FROM "quizzes_attemptanswer" INNER JOIN "quizzes_quizattempt" ON ("quizzes_attemptanswer"."attempt_id" = "quizzes_quizattempt"."id") WHERE EXISTS(SELECT %s AS "a" FROM "quizzes_attemptanswerchoice" U0 WHERE U0."answer_id" = ("quizzes_attemptanswer"."id") LIMIT 1) GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("question_id", "day") DO UPDATE SET "answered" = "quizzes_questionday"."answered" + excluded."answered", "score_sum_answered" = "quizzes_questionday"."score_sum_answered" + excluded."score_sum_answered"',
            ('UTC', 'UTC', 1, 1, 1),
        ),
        (
            'INSERT INTO "quizzes_choiceday" ("choice_id", "day", "picks", "score_sum") SELECT "quizzes_attemptanswerchoice"."choice_id" AS "choice_id", django_datetime_cast_date("quizzes_quizattempt"."submitted_at", %s, %s) AS "day", (COUNT("quizzes_attemptanswerchoice"."id") * %s) AS "n_picks", (SUM("quizzes_quizattempt"."score") * %s) AS "n_score_sum" FROM "quizzes_attemptanswerchoice" INNER JOIN "quizzes_attemptanswer" ON ("quizzes_attemptanswerchoice"."answer_id" = "quizzes_attemptanswer"."id") INNER JOIN "quizzes_quizattempt" ON ("quizzes_attemptanswer"."attempt_id" = "quizzes_quizattempt"."id") GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC ON CONFLICT ("choice_id", "day") DO UPDATE SET "picks" = "quizzes_choiceday"."picks" + excluded."picks", "score_sum" = "quizzes_choiceday"."score_sum" + excluded."score_sum"',
            ('UTC', 'UTC', 1, 1),
        ),
    ],
}


def fill_rollups(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table in ROLLUP_TABLES:
            cursor.execute(f'DELETE FROM "{table}"')
        for sql, params in STATEMENTS[connection.vendor]:
            cursor.execute(sql, params)


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0003_analytics_permission'),
    ]

    operations = [
        migrations.RunPython(fill_rollups, migrations.RunPython.noop),
    ]
