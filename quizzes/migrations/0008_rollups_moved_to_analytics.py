# The roll-up models now belong to the analytics app (analytics 0001 took them over with
# their tables); the analytics permission is declared there too (analytics 0003), on
# the quiz model's content type under its old codename. State only: nothing changes in
# the database, and the permission row and its grants stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('quizzes', '0007_ordering_by_foreign_key_columns'),
        ('analytics', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ChoiceDay'),
                migrations.DeleteModel(name='QuestionDay'),
                migrations.DeleteModel(name='QuizDay'),
                migrations.DeleteModel(name='QuizDayValue'),
            ]
        ),
        migrations.AlterModelOptions(
            name='quiz',
            options={'base_manager_name': 'objects', 'ordering': ['title', 'pk'], 'verbose_name_plural': 'quizzes'},
        ),
    ]
