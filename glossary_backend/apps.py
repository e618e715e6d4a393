from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate


class GlossaryBackendConfig(AppConfig):
    """The project itself: its pages, GraphiQL's files and database upkeep."""

    name = "glossary_backend"
    verbose_name = "Glossary backend"

    def ready(self):
        post_migrate.connect(_refresh_statistics, dispatch_uid="glossary_backend_statistics")
        from glossary_backend.caching import events_committed
        from terms import outbox

        # Cached answers holding changed content stop being served once the change commits.
        outbox.committed_listener_register(events_committed)


def _refresh_statistics(sender, using, **kwargs):
    # post_migrate is sent once per app with models: refresh once, after the last one
    # (when the other apps' post-migrate steps, such as indexing terms, are done).
    # SQLite only: on PostgreSQL, analysing the tables a migration has just created
    # records them as empty, and plans made from that (foreign key checks after a bulk
    # load) scan whole tables; its autovacuum knows better.
    last = [config for config in apps.get_app_configs() if config.models_module][-1]
    if sender is last and connections[using].vendor == "sqlite":
        from glossary_backend.database import refresh_planner_statistics

        refresh_planner_statistics(using)
