"""State changes of glossary content: publishing, importing and the derived mention table.

Each function is one named write, atomic, called alike by the admin and management
commands. Functions take keyword-only arguments and say what they guarantee.
"""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from terms.linking import build_linker, mention_pairs
from terms.models import Chapter, Publishable, Status, Term, TermMention


def content_set_status(*, queryset, status: Status, user=None) -> int:
    """Move every object of `queryset` (chapters or terms) to `status`; returns how many changed.

    Publishing stamps `published_at` with the current time on objects that were not
    published; unpublishing (back to draft) clears it; archiving keeps it as history.
    Objects already in `status` are left untouched, so their dates do not move.
    """
    model = queryset.model
    assert issubclass(model, Publishable)
    now = timezone.now()
    changes = {"status": status, "updated_at": now}
    if status == Status.PUBLISHED:
        changes["published_at"] = now
    elif status == Status.DRAFT:
        changes["published_at"] = None
    if user is not None and hasattr(model, "updated_by"):
        changes["updated_by"] = user
    with transaction.atomic():
        return queryset.exclude(status=status).update(**changes)


IMPORT_COLUMNS = ("name", "abbreviation", "expansion", "definition")


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_term_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a TSV (by extension) or CSV file with a header line; raises ValueError."""
    text = path.read_text(encoding="utf-8-sig")
    delimiter = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = reader.fieldnames or []
    missing = [column for column in ("name", "definition") if column not in columns]
    if missing:
        raise ValueError(
            f"Missing column(s): {', '.join(missing)}. Expected a header line with "
            f"{', '.join(IMPORT_COLUMNS)}."
        )
    return list(reader)


def terms_import(
    *, rows: list[dict[str, str]], chapter: Chapter, publish: bool = False, dry_run: bool = False
) -> ImportReport:
    """Create or update the terms of `chapter` from `rows`, matched by slug (from the name).

    Every row is validated before anything is written. If any row is invalid, nothing is
    written and the report lists each problem with its row number (the header is row 1).
    New terms are drafts unless `publish` is set; existing terms keep their status.
    With `dry_run` the report says what would change and nothing is written.
    """
    report = ImportReport()
    slugs = [slugify(row.get("name") or "") for row in rows]
    existing = {term.slug: term for term in Term.objects.filter(slug__in=slugs)}
    seen_rows: dict[str, int] = {}
    to_save: list[Term] = []

    for row_number, (row, slug) in enumerate(zip(rows, slugs, strict=True), start=2):
        values = {column: (row.get(column) or "").strip() for column in IMPORT_COLUMNS}
        if slug in seen_rows:
            report.errors.append(
                f"Row {row_number}: duplicates the term of row {seen_rows[slug]} ({slug!r})."
            )
            continue
        if slug:
            seen_rows[slug] = row_number
        term = existing.get(slug)
        if term is None:
            term = Term(slug=slug, chapter=chapter, status=Status.DRAFT)
            if publish:
                term.status = Status.PUBLISHED
            state = report.created
        elif term.chapter_id != chapter.pk:
            report.errors.append(
                f"Row {row_number}: {slug!r} already belongs to another chapter "
                f"(id {term.chapter_id}); move it in the admin first."
            )
            continue
        elif all(getattr(term, column) == value for column, value in values.items()):
            report.unchanged.append(term.name)
            continue
        else:
            state = report.updated
        for column, value in values.items():
            setattr(term, column, value)
        try:
            term.full_clean(exclude=["related_terms"], validate_unique=False)
        except ValidationError as error:
            problems = error.message_dict
            if "name" in problems:
                problems.pop("slug", None)  # the slug is derived from the name
            report.errors.append(
                f"Row {row_number}: "
                + "; ".join(
                    f"{field_name}: {' '.join(messages)}"
                    for field_name, messages in problems.items()
                )
            )
            continue
        state.append(term.name)
        to_save.append(term)

    if report.errors or dry_run:
        return report
    with transaction.atomic():
        for term in to_save:
            term.save()
        term_mentions_refresh()
    return report


@dataclass
class MentionChanges:
    added: int
    removed: int


def expected_mentions(*, term_model=Term) -> set[tuple[int, int]]:
    """What the mention table should hold for the terms as they are now."""
    linker = build_linker(term_model)
    texts = term_model.objects.values_list("pk", "definition", "explanation").iterator()
    return mention_pairs(linker, texts)


def term_mentions_refresh(
    *, dry_run: bool = False, term_model=Term, mention_model=TermMention
) -> MentionChanges:
    """Bring the mention table in line with every term's text; returns what changed.

    Any change of a name, alias or text can add or remove links in other terms' texts,
    so the whole table is recomputed and only the difference written. Called by every
    write of terms (admin, import, seed loading, migrations); `dry_run` only counts,
    which verifies the table.
    """
    with transaction.atomic():
        wanted = expected_mentions(term_model=term_model)
        rows = mention_model.objects.select_for_update().values_list("pk", "source_id", "target_id")
        existing = {(source, target): pk for pk, source, target in rows}
        stale = [pk for pair, pk in existing.items() if pair not in wanted]
        missing = [pair for pair in wanted if pair not in existing]
        if not dry_run:
            mention_model.objects.filter(pk__in=stale).delete()
            mention_model.objects.bulk_create(
                mention_model(source_id=source, target_id=target) for source, target in missing
            )
    return MentionChanges(added=len(missing), removed=len(stale))
