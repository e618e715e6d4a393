from django.core.management.base import BaseCommand

from terms import revisions


class Command(BaseCommand):
    help = (
        "Record the current state of every chapter, term and quiz that has no recorded "
        "version yet (content that existed before revisions did), so that its first "
        "change can be undone. Objects already recorded are left alone."
    )

    def handle(self, *args, **options):
        counts = {}
        with revisions.recording(revisions.command_path("record_revisions")):
            for model in revisions.content_models():
                pending = [
                    obj
                    for obj in model._base_manager.all()
                    if revisions.latest_version_id(obj) == 0
                ]
                revisions.touch(*pending)
                counts[model._meta.verbose_name_plural] = len(pending)
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count} recorded")
