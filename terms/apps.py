from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save, pre_delete


class TermsConfig(AppConfig):
    name = "terms"
    verbose_name = "Glossary"

    def ready(self):
        from terms.services import register_revisions

        register_revisions()

        from terms import outbox
        from terms.models import Chapter, Term

        outbox.register_publishable(Chapter)
        outbox.register_publishable(Term, follows_chapter=True)

        # The search index follows every write of a term, whoever makes it (admin,
        # import, fixtures, a shell); writers that bypass save() (bulk SQL) call
        # terms.search.index_terms or the search_index command themselves.
        post_save.connect(_index_saved_term, sender=Term, dispatch_uid="terms_index_saved")
        pre_delete.connect(_unindex_deleted_term, sender=Term, dispatch_uid="terms_unindex")
        post_migrate.connect(_index_after_migrate, sender=self)


def _index_saved_term(sender, instance, **kwargs):
    from terms.search import index_terms

    index_terms([instance.pk])


def _unindex_deleted_term(sender, instance, **kwargs):
    from terms.search import index_terms

    index_terms([instance.pk], deleting=True)


def _index_after_migrate(sender, **kwargs):
    """Terms that existed before the index (or were written by SQL) get indexed."""
    from terms.search import index_unindexed_terms

    index_unindexed_terms()
