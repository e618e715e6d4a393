from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Quiz analytics"

    def ready(self):
        from analytics.rollups import rollups_follow_attempts
        from quizzes.listeners import attempt_listener_register

        attempt_listener_register(rollups_follow_attempts)
