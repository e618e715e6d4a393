"""Register, list and remove trusted documents (glossary_backend/documents.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from glossary_backend.documents import documents_register, documents_remove, read_manifest
from glossary_backend.models import TrustedDocument


class Command(BaseCommand):
    help = (
        "register FILE: register the documents of a Relay persisted-query map or an Apollo "
        "persisted-query manifest (all or none). list: the registered documents. "
        "remove ID...: unregister documents."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        register = actions.add_parser("register", help="register the documents of a manifest")
        register.add_argument("file", type=Path)
        actions.add_parser("list", help="list the registered documents")
        remove = actions.add_parser("remove", help="unregister documents by id")
        remove.add_argument("document_ids", nargs="+", metavar="ID")

    def handle(self, *args, action, **options):
        if action == "register":
            try:
                entries = read_manifest(options["file"])
            except ValueError as error:
                raise CommandError(str(error)) from None
            report = documents_register(entries=entries)
            if report.errors:
                raise CommandError(
                    "Nothing was registered:\n" + "\n".join(f"- {e}" for e in report.errors)
                )
            self.stdout.write(
                f"{len(report.registered)} document(s) registered, "
                f"{len(report.unchanged)} already registered."
            )
            for document_id in report.registered:
                self.stdout.write(f"  {document_id}")
        elif action == "list":
            for document in TrustedDocument.objects.all():
                self.stdout.write(
                    f"{document.document_id}  {document.name or '(anonymous)'}  "
                    f"{document.registered_at:%Y-%m-%d %H:%M}"
                )
        else:
            unknown = documents_remove(document_ids=options["document_ids"])
            if unknown:
                raise CommandError("Not registered (nothing was removed): " + ", ".join(unknown))
            self.stdout.write(f"{len(options['document_ids'])} document(s) removed.")
