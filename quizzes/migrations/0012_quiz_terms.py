import django.db.models.deletion
from django.db import migrations, models

# Plain SQL that PostgreSQL and SQLite read alike; retired question versions ask nothing.
CREATE_VIEW = """
CREATE VIEW quizzes_quizterm AS
SELECT DISTINCT quiz_id, term_id FROM quizzes_question
WHERE term_id IS NOT NULL AND retired_at IS NULL
"""


class Migration(migrations.Migration):
    """Quiz.terms: the terms a quiz's questions ask about, a view over the questions."""

    dependencies = [
        ("quizzes", "0011_question_versions"),
        ("terms", "0011_term_mentions_and_seo"),
    ]

    operations = [
        migrations.RunSQL(CREATE_VIEW, "DROP VIEW quizzes_quizterm"),
        migrations.CreateModel(
            name="QuizTerm",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "quiz", "term", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "quiz",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="quizzes.quiz",
                    ),
                ),
                (
                    "term",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="terms.term",
                    ),
                ),
            ],
            options={"db_table": "quizzes_quizterm", "managed": False},
        ),
        # The view is the whole of the relation: nothing to create for the field.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="quiz",
                    name="terms",
                    field=models.ManyToManyField(
                        editable=False,
                        related_name="quizzes",
                        through="quizzes.QuizTerm",
                        to="terms.term",
                    ),
                ),
            ],
        ),
    ]
