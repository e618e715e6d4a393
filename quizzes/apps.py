from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "quizzes"

    def ready(self):
        from quizzes.services import register_revisions

        register_revisions()

        from quizzes.models import Quiz
        from terms import outbox

        outbox.register_publishable(Quiz, follows_chapter=True)
