# The roll-up models move here from the quizzes app (quizzes 0006 created their tables).
# State only: the tables, their rows, constraints and indexes stay as they are.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('quizzes', '0007_ordering_by_foreign_key_columns'),
    ]

    state_operations = [
        migrations.CreateModel(
            name='QuizDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('passed', models.PositiveIntegerField(default=0)),
                ('percentage_sum', models.FloatField(default=0)),
                ('percentage_square_sum', models.FloatField(default=0)),
                ('score_sum', models.BigIntegerField(default=0)),
                ('score_square_sum', models.BigIntegerField(default=0)),
                ('timed', models.PositiveIntegerField(default=0, help_text='Attempts with a duration.')),
                ('duration_seconds_sum', models.FloatField(default=0)),
                ('quiz', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='quizzes.quiz')),
            ],
            options={'db_table': 'quizzes_quizday'},
        ),
        migrations.CreateModel(
            name='QuizDayValue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('measure', models.CharField(choices=[('percentage', 'Percentage'), ('duration', 'Duration')], max_length=16)),
                ('value', models.FloatField()),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('quiz', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='quizzes.quiz')),
            ],
            options={'db_table': 'quizzes_quizdayvalue'},
        ),
        migrations.CreateModel(
            name='QuestionDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('seen', models.PositiveIntegerField(default=0)),
                ('answered', models.PositiveIntegerField(default=0)),
                ('correct', models.PositiveIntegerField(default=0)),
                ('score_sum_right', models.BigIntegerField(default=0)),
                ('score_sum_wrong', models.BigIntegerField(default=0)),
                ('score_sum_answered', models.BigIntegerField(default=0)),
                ('question', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='quizzes.question')),
            ],
            options={'db_table': 'quizzes_questionday'},
        ),
        migrations.CreateModel(
            name='ChoiceDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('picks', models.PositiveIntegerField(default=0)),
                ('score_sum', models.BigIntegerField(default=0)),
                ('choice', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='quizzes.choice')),
            ],
            options={'db_table': 'quizzes_choiceday'},
        ),
        migrations.AddConstraint(
            model_name='quizday',
            constraint=models.UniqueConstraint(fields=('quiz', 'day'), name='quiz_day_unique'),
        ),
        migrations.AddConstraint(
            model_name='quizdayvalue',
            constraint=models.UniqueConstraint(fields=('quiz', 'day', 'measure', 'value'), name='quiz_day_value_unique'),
        ),
        migrations.AddConstraint(
            model_name='questionday',
            constraint=models.UniqueConstraint(fields=('question', 'day'), name='question_day_unique'),
        ),
        migrations.AddConstraint(
            model_name='choiceday',
            constraint=models.UniqueConstraint(fields=('choice', 'day'), name='choice_day_unique'),
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
    ]
