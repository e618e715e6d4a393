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
from django.db.models import Count, F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify
from reversion.models import Version

from terms import outbox, revisions
from terms.linking import build_linker, mention_pairs
from terms.models import (
    MAX_RELATED_TERMS,
    Chapter,
    Publishable,
    Status,
    Term,
    TermMention,
    TermRelation,
)


def publication_date(*, status: Status, was_published: bool, published_at, now):
    """The one rule for `published_at`: stamped when content becomes published, kept
    while it stays published and when it is archived (as history), cleared when it goes
    back to draft."""
    if status == Status.PUBLISHED:
        return published_at if was_published and published_at is not None else now
    if status == Status.DRAFT:
        return None
    return published_at


def ensure_publishable(queryset) -> None:
    """ValidationError listing why the published objects of `queryset` may not be
    published (the model's QuerySet says: a quiz needs well-formed questions)."""
    problems = queryset.filter(status=Status.PUBLISHED).publication_problems()
    if problems:
        raise ValidationError(problems, code="unpublishable")


def _stamp_author(obj, user) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return
    if hasattr(obj, "updated_by_id"):
        obj.updated_by = user
        if obj.pk is None:
            obj.created_by = user


def changes_since(obj, based_on: int) -> list[str]:
    """What was recorded for `obj` after its version `based_on` (0: none), for an editor:
    who changed it, when, by which path, and each changed line as it was and is. Empty
    when nothing was."""
    newer = (
        Version.objects.get_for_object(obj).filter(pk__gt=based_on).select_related("revision__user")
    )
    if not newer:
        return []
    base = Version.objects.filter(pk=based_on).first() if based_on else None
    stored = type(obj)._base_manager.get(pk=obj.pk)  # `obj` may carry the edit itself
    who = [
        f"{version.revision.user or 'someone'} at "
        f"{timezone.localtime(version.revision.date_created):%Y-%m-%d %H:%M} "
        f"({version.revision.comment})"
        for version in reversed(newer)
    ]
    if base is None:
        return [f"Changed meanwhile by {', '.join(who)}.", "No earlier version to compare with."]
    before = revisions.describe(revisions.state_of(base))
    after = revisions.describe(revisions.current_state(stored))
    return [
        f"Changed meanwhile by {', '.join(who)}.",
        *(
            f"{change.label}: “{change.before}” → “{change.after}”"
            for change in revisions.diff(before, after)
        ),
    ]


def ensure_not_changed_since(obj, based_on: int | None) -> None:
    """ValidationError (code "edit_conflict") when `obj` was recorded after the version an
    edit started from; no check when `based_on` is None."""
    if based_on is None or obj.pk is None:
        return
    if revisions.latest_version_id(obj) == based_on:
        return
    changes = changes_since(obj, based_on)
    raise ValidationError(
        [
            f"This {obj._meta.verbose_name} was changed by someone else since you opened "
            "it; nothing was saved.",
            *changes,
        ],
        code="edit_conflict",
    )


@transaction.atomic
def content_save(
    *, obj: Publishable, user=None, save_related=None, based_on: int | None = None, now=None
) -> None:
    """Save a chapter, term or quiz as edited, with what belongs to it, in one transaction,
    recorded as a revision.

    `based_on` is the id of the last recorded version the edit started from
    (revisions.latest_version_id when the form was opened): when the object was recorded
    since, the save is refused with what changed meanwhile (no lost updates); the row is
    locked first, so two saves cannot both pass. `published_at` follows
    `publication_date` against the stored status; `save_related` (the admin's inlines,
    see-also links) runs after the object is saved; then the final state is checked
    (`ensure_publishable`), so a published quiz whose questions an inline broke is
    refused. Raises ValidationError and then nothing is saved.
    """
    model = type(obj)
    with (
        revisions.recording(revisions.service_path("content_save"), user=user),
        outbox.recording(),
    ):
        previous = None
        created = obj.pk is None
        if not created:
            outbox.watch(model, [obj.pk])
            previous = (
                model.objects.select_for_update().filter(pk=obj.pk).values_list("status", flat=True)
            ).first()
            ensure_not_changed_since(obj, based_on)
        obj.published_at = publication_date(
            status=obj.status,
            was_published=previous == Status.PUBLISHED,
            published_at=obj.published_at,
            now=now or timezone.now(),
        )
        _stamp_author(obj, user)
        obj.save()
        if created:
            outbox.watch_created(obj)
        if save_related is not None:
            save_related()
        ensure_publishable(model.objects.filter(pk=obj.pk))
        revisions.touch(obj)


def content_set_status(*, queryset, status: Status, user=None) -> int:
    """Move every object of `queryset` (chapters, terms or quizzes) to `status`; returns
    how many changed. Each changed object gets a version in the revision of the block
    that runs it (a bulk action's), or in one of this service's own.

    `published_at` follows `publication_date`, as in `content_save`. Objects already in
    `status` are left untouched, so their dates do not move. Publishing refuses, with
    ValidationError and nothing changed, when any of them may not be published.
    """
    model = queryset.model
    assert issubclass(model, Publishable)
    now = timezone.now()
    changes = {"status": status, "updated_at": now}
    # None of the objects changed is in `status` already: none was published when
    # publishing, whatever it was when not.
    date = publication_date(
        status=status, was_published=False, published_at=F("published_at"), now=now
    )
    changes["published_at"] = date
    if user is not None and hasattr(model, "updated_by"):
        changes["updated_by"] = user
    with (
        transaction.atomic(),
        revisions.recording(revisions.service_path("content_set_status"), user=user),
        outbox.recording(),
    ):
        changing = model.objects.select_for_update().filter(
            pk__in=queryset.exclude(status=status).values("pk")
        )
        pks = list(changing.values_list("pk", flat=True))
        outbox.watch(model, pks)
        changed = model.objects.filter(pk__in=pks).update(**changes)
        ensure_publishable(model.objects.filter(pk__in=pks))
        revisions.touch_keys((model, pk) for pk in pks)
        return changed


def related_terms_problems(*, term: Term, related) -> list[ValidationError]:
    """Why `related` cannot be the see-also terms of `term`: a term is not related to
    itself, and no term (`term` or one of `related`, whose lists gain `term` too) has
    more than MAX_RELATED_TERMS."""
    related_ids = {other.pk for other in related}
    problems = []
    if term.pk is not None and term.pk in related_ids:
        problems.append(ValidationError("A term cannot be related to itself.", code="self_related"))
    if len(related_ids) > MAX_RELATED_TERMS:
        problems.append(
            ValidationError(
                f"A term has at most {MAX_RELATED_TERMS} see-also terms ({len(related_ids)} "
                "chosen).",
                code="too_many_related",
            )
        )
    gaining = Term.objects.filter(pk__in=related_ids).exclude(related_terms=term.pk or 0)
    full = gaining.annotate(links=Count("related_terms")).filter(links__gte=MAX_RELATED_TERMS)
    problems += [
        ValidationError(
            f"{other} already has {MAX_RELATED_TERMS} see-also terms; remove one there first.",
            code="too_many_related",
        )
        for other in full.order_by(Lower("name"))
    ]
    return problems


@transaction.atomic
def term_set_related(*, term: Term, related) -> None:
    """Make `related` the see-also terms of `term`, in both directions; raises
    ValidationError (see related_terms_problems) and then changes nothing. Every term
    whose list changes is recorded (the link rows' signals touch both ends)."""
    related = list(related)
    # Locks the terms whose lists change, so two saves cannot both add the 50th link.
    list(Term.objects.select_for_update().filter(pk__in=[term.pk, *(t.pk for t in related)]))
    problems = related_terms_problems(term=term, related=related)
    if problems:
        raise ValidationError(problems)
    before = set(term.related_terms.values_list("pk", flat=True))
    after = {other.pk for other in related}
    if before == after:
        return
    with outbox.recording():
        outbox.watch(Term, {term.pk} | (before ^ after))
        term.related_terms.set(related)


IMPORT_COLUMNS = ("name", "abbreviation", "expansion", "definition")


@dataclass
class ImportRow:
    """One row of an import: what it does to its term (or why it cannot)."""

    number: int  # as a spreadsheet numbers it: the header is row 1
    name: str
    outcome: str  # "new", "changed", "unchanged" or "invalid"
    # Per changed column: (column, stored value, imported value); a new term's values.
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    problem: str = ""


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do): by term name, and row by row."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )


# The files an import reads, by extension: a delimiter for text, None for a workbook.
IMPORT_FORMATS = {".tsv": "\t", ".tab": "\t", ".csv": ",", ".xlsx": None}


def read_term_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a TSV, CSV or XLSX file at `path`; see read_term_table."""
    return read_term_table(path.name, path.read_bytes())


def read_term_table(name: str, data: bytes) -> list[dict[str, str]]:
    """Rows of a file named `name` (its extension decides: TSV, CSV or XLSX, the first
    sheet) with a header line, as text; raises ValueError saying what is wrong."""
    suffix = Path(name).suffix.lower()
    if suffix not in IMPORT_FORMATS:
        raise ValueError(f"Unknown file type {suffix or '(none)'}: use .tsv, .csv or .xlsx.")
    if IMPORT_FORMATS[suffix] is None:
        lines = _workbook_lines(data)
    else:
        text = data.decode("utf-8-sig")
        lines = []
        try:
            lines.extend(csv.reader(io.StringIO(text), delimiter=IMPORT_FORMATS[suffix]))
        except csv.Error as error:
            # An oversized cell: the reader stops in the row after the last one it read.
            raise ValueError(f"Row {len(lines) + 1}: {error}.") from None
    columns = [column.strip() for column in (lines[0] if lines else [])]
    missing = [column for column in ("name", "definition") if column not in columns]
    if missing:
        raise ValueError(
            f"Missing column(s): {', '.join(missing)}. Expected a header line with "
            f"{', '.join(IMPORT_COLUMNS)}."
        )
    return [dict(zip(columns, line, strict=False)) for line in lines[1:] if line]


def _workbook_lines(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises whatever its zip and XML readers raise
        raise ValueError("This is not an XLSX workbook that can be read.") from None
    try:
        sheet = workbook.worksheets[0]
        return [
            ["" if value is None else str(value) for value in row]
            for row in sheet.iter_rows(values_only=True)
            if any(value is not None for value in row)
        ]
    finally:
        workbook.close()


def terms_import(
    *, rows: list[dict[str, str]], chapter: Chapter, publish: bool = False, dry_run: bool = False
) -> ImportReport:
    """Create or update the terms of `chapter` from `rows`, matched by slug (from the name).

    Every row is validated before anything is written. If any row is invalid, nothing is
    written and the report lists each problem with its row number (the header is row 1).
    New terms are drafts unless `publish` is set; existing terms keep their status.
    With `dry_run` the report says what would change and nothing is written. The report
    has every row's outcome, with the values a row changes (the admin's preview).
    """
    report = ImportReport()
    slugs = [slugify(row.get("name") or "") for row in rows]
    existing = {term.slug: term for term in Term.objects.filter(slug__in=slugs)}
    seen_rows: dict[str, int] = {}
    to_save: list[Term] = []

    def invalid(row_number, name, problem):
        report.errors.append(f"Row {row_number}: {problem}")
        report.rows.append(ImportRow(row_number, name, "invalid", problem=problem))

    for row_number, (row, slug) in enumerate(zip(rows, slugs, strict=True), start=2):
        values = {column: (row.get(column) or "").strip() for column in IMPORT_COLUMNS}
        if slug in seen_rows:
            invalid(
                row_number, values["name"],
                f"duplicates the term of row {seen_rows[slug]} ({slug!r}).",
            )  # fmt: skip
            continue
        if slug:
            seen_rows[slug] = row_number
        term = existing.get(slug)
        if term is None:
            term = Term(slug=slug, chapter=chapter, status=Status.DRAFT)
            if publish:
                term.status = Status.PUBLISHED
            state, outcome = report.created, "new"
        elif term.chapter_id != chapter.pk:
            invalid(
                row_number, values["name"],
                f"{slug!r} already belongs to another chapter (id {term.chapter_id}); move it "
                "in the admin first.",
            )  # fmt: skip
            continue
        elif all(getattr(term, column) == value for column, value in values.items()):
            report.unchanged.append(term.name)
            report.rows.append(ImportRow(row_number, term.name, "unchanged"))
            continue
        else:
            state, outcome = report.updated, "changed"
        changes = [
            (column, getattr(term, column), value)
            for column, value in values.items()
            if getattr(term, column) != value
        ]
        for column, value in values.items():
            setattr(term, column, value)
        try:
            term.full_clean(exclude=["related_terms"], validate_unique=False)
        except ValidationError as error:
            problems = error.message_dict
            if "name" in problems:
                problems.pop("slug", None)  # the slug is derived from the name
            invalid(
                row_number, values["name"],
                "; ".join(
                    f"{field_name}: {' '.join(messages)}"
                    for field_name, messages in problems.items()
                ),
            )  # fmt: skip
            continue
        state.append(term.name)
        report.rows.append(ImportRow(row_number, term.name, outcome, changes))
        to_save.append(term)

    if report.errors or dry_run:
        return report
    with transaction.atomic(), revisions.recording(revisions.IMPORT), outbox.recording():
        outbox.watch(Term, [term.pk for term in to_save])
        for term in to_save:
            created = term.pk is None
            term.save()
            if created:
                outbox.watch_created(term)
        term_mentions_refresh()
    return report


@transaction.atomic
def content_delete(*, queryset) -> int:
    """Delete the chapters, terms or quizzes of `queryset` with what belongs to them;
    returns how many objects of the model were deleted. The visible ones become DELETED
    events; deleting terms refreshes the mention table (other terms' links to them go).
    Raises ProtectedError (a chapter that has terms) and then nothing is deleted."""
    model = queryset.model
    with outbox.recording():
        pks = list(queryset.values_list("pk", flat=True))
        outbox.watch(model, pks)
        _, per_model = model._base_manager.filter(pk__in=pks).delete()
        if model is Term:
            term_mentions_refresh()
    return per_model.get(model._meta.label, 0)


def content_restore(*, version: Version, user=None, based_on: int | None = None):
    """Bring a chapter, term or quiz back to what `version` recorded, with its see-also
    links or its questions and choices, in one transaction, as a new revision.

    Goes through `content_save` (so `based_on` guards against lost updates and a
    published quiz must stay answerable) after the object's own checks (`full_clean`:
    a slug taken since, a chapter deleted since). Refuses with ValidationError, and
    changes nothing, what cannot be restored: an object deleted since, see-also terms
    deleted since, questions or choices that learners have answered since they were
    removed from the revision's state. Returns the restored object.
    """
    model = version._model
    content = revisions.content_for(model)
    when = timezone.localtime(version.revision.date_created)
    path = f"restore of the version of {when:%Y-%m-%d %H:%M:%S}"
    with transaction.atomic(), revisions.recording(path, user=user), outbox.recording():
        obj = model._base_manager.filter(pk=version.object_id).first()
        if obj is None:
            raise ValidationError(
                f"“{version.object_repr}” was deleted; it cannot be restored here.",
                code="deleted",
            )
        state = revisions.state_of(version)
        recorded = version._object_version.object
        for model_field in model._meta.concrete_fields:
            if model_field.name in revisions.UNCOMPARED_FIELDS or model_field.generated:
                continue
            setattr(obj, model_field.attname, getattr(recorded, model_field.attname))
        obj.full_clean(exclude=[m2m.name for m2m in model._meta.many_to_many])
        content_save(
            obj=obj,
            user=user,
            based_on=based_on,
            save_related=lambda: content.restore_parts(obj, state),
        )
        return obj


def _see_also_lines(state: revisions.State) -> dict[str, str]:
    ids = [link.to_term_id for link in state.rows(TermRelation)]
    names = dict(Term.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {
        "See also": ", ".join(
            sorted((names.get(pk, f"(deleted term, id {pk})") for pk in ids), key=str.lower)
        )
        or "—"
    }


def _restore_see_also(term: Term, state: revisions.State) -> None:
    links = {
        version._object_version.object.to_term_id: version
        for version in state.parts.get(TermRelation, [])
    }
    existing = Term.objects.filter(pk__in=links)
    missing = set(links) - {other.pk for other in existing}
    if missing:
        raise ValidationError(
            [
                f"The see-also term {links[pk].object_repr.split(' → ')[-1]} was deleted "
                "since; restore it or choose another version."
                for pk in sorted(missing)
            ],
            code="deleted_link",
        )
    term_set_related(term=term, related=existing)


def register_revisions() -> None:
    """Chapters and terms (with their see-also links) are recorded (terms.revisions)."""
    revisions.register_content(
        revisions.Content(
            model=Chapter,
            parts=(),
            describe_parts=lambda state: {},
            restore_parts=lambda obj, state: None,
        ),
        owners={Chapter: lambda chapter: [(Chapter, chapter.pk)]},
    )
    revisions.register_content(
        revisions.Content(
            model=Term,
            parts=(revisions.Part(TermRelation, "from_term"),),
            describe_parts=_see_also_lines,
            restore_parts=_restore_see_also,
        ),
        owners={
            Term: lambda term: [(Term, term.pk)],
            TermRelation: lambda link: [(Term, link.from_term_id), (Term, link.to_term_id)],
        },
    )


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
