from django.apps import AppConfig
from django.db.backends.signals import connection_created


class QuizzesConfig(AppConfig):
    name = "quizzes"

    def ready(self):
        from quizzes.analytics import register_sqlite_functions

        connection_created.connect(register_sqlite_functions)
