from django.db import migrations, models

# 0012's view, for going back.
CREATE_VIEW = """
CREATE VIEW quizzes_quizterm AS
SELECT DISTINCT quiz_id, term_id FROM quizzes_question
WHERE term_id IS NOT NULL AND retired_at IS NULL
"""


class Migration(migrations.Migration):
    """Quiz.terms goes: which terms a quiz asks about gives answers away before submission
    (Term.quizzes lists the quizzes of the term's chapter instead). The reveal rule covers
    the terms tested."""

    dependencies = [("quizzes", "0012_quiz_terms")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="quiz", name="terms")],
        ),
        migrations.DeleteModel(name="QuizTerm"),
        migrations.RunSQL("DROP VIEW quizzes_quizterm", CREATE_VIEW),
        migrations.AlterField(
            model_name="quiz",
            name="reveal",
            field=models.CharField(
                choices=[
                    ("always", "After every attempt"),
                    ("after_pass", "Only after a pass"),
                    ("never", "Never (score only)"),
                ],
                default="always",
                help_text="What a submission tells the learner besides the score: which "
                "questions were right, the correct choices, the explanations and the terms "
                "the questions test.",
                max_length=16,
                verbose_name="reveal answers",
            ),
        ),
    ]
