from django.core.management.base import BaseCommand, CommandError

from terms.exports import FORMATS, glossary_export, published_chapters


class Command(BaseCommand):
    help = (
        "Write the published glossary (or one published chapter) as schema.org JSON-LD, "
        "SKOS Turtle, TBX-Basic or CSV, the same as GET /exports/glossary.<format>."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=sorted(FORMATS), dest="fmt")
        parser.add_argument("--chapter", help="Slug of one published chapter.")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, fmt, chapter, output, **options):
        if chapter is not None and not published_chapters(chapter).exists():
            raise CommandError(f"No published chapter has the slug {chapter!r}.")
        pieces = glossary_export(fmt, chapter)
        if output is None:
            for piece in pieces:
                self.stdout.write(piece, ending="")
            return
        with open(output, "w", encoding="utf-8", newline="") as stream:
            stream.writelines(pieces)
