"""Importing terms in the admin: a preview per row, then a confirmation that imports
exactly that, all or nothing, through the same service as the import_terms command;
and the term list's export, which imports back."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from reversion.models import Version

from terms.models import Status, Term

IMPORT = reverse("admin:terms_term_import")
HEADER = "name\tabbreviation\texpansion\tdefinition\n"


def upload(client, chapter, text, name="terms.tsv", **extra):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        IMPORT,
        {"file": SimpleUploadedFile(name, data), "chapter": chapter.pk, **extra},
    )


def rows_of(response):
    return [
        (row.number, row.name, row.outcome, row.changes, row.problem)
        for row in response.context["report"].rows
    ]


def test_the_preview_shows_each_row_and_writes_nothing(editor_client, seed):
    """A changed row with its differences, a new row, an unchanged row, an invalid row:
    the preview says so per row, offers no confirmation, and nothing is written."""
    lora = Term.objects.get(slug="lora")
    before = list(Term.objects.values())
    response = upload(
        editor_client, seed,
        HEADER
        + "LoRA\tLoRA\tLow-Rank Adaptation\tA new definition.\n"
        + "DoRA\t\t\tWeight-Decomposed Low-Rank Adaptation.\n"
        + f"{lora.name}\t{lora.abbreviation}\t{lora.expansion}\t{lora.definition}\n"
        + "Blank\t\t\t\n",
    )  # fmt: skip
    assert response.status_code == 200
    assert rows_of(response) == [
        (2, "LoRA", "changed", [("definition", lora.definition, "A new definition.")], ""),
        (
            3,
            "DoRA",
            "new",
            [("name", "", "DoRA"), ("definition", "", "Weight-Decomposed Low-Rank Adaptation.")],
            "",
        ),
        (4, "LoRA", "invalid", [], "duplicates the term of row 2 ('lora')."),
        (5, "Blank", "invalid", [], "definition: This field cannot be blank."),
    ]
    page = response.content.decode()
    assert 'name="confirm"' not in page
    assert "Nothing can be imported while a row is invalid" in page
    assert list(Term.objects.values()) == before


def test_confirming_imports_what_was_previewed(editor_client, editor, seed):
    """Confirming writes the previewed rows, recorded as the editor's admin import."""
    response = upload(
        editor_client, seed,
        HEADER + "LoRA\tLoRA\tLow-Rank Adaptation\tA new definition.\n"
        + "DoRA\t\t\tWeight-Decomposed Low-Rank Adaptation.\n",
        publish="on",
    )  # fmt: skip
    assert 'value="Import 2 terms"' in response.content.decode()
    assert not Term.objects.filter(slug="dora").exists()
    done = editor_client.post(
        IMPORT, {"confirm": "1", "payload": response.context["payload"]}, follow=True
    )
    assert [str(m) for m in done.context["messages"]] == [
        "Imported into Fine-Tuning & Alignment Terms: 1 created, 1 updated, 0 unchanged."
    ]
    assert Term.objects.get(slug="lora").definition == "A new definition."
    assert Term.objects.get(slug="dora").status == Status.PUBLISHED
    version = Version.objects.get_for_object(Term.objects.get(slug="dora")).first()
    assert (version.revision.comment, version.revision.user) == ("admin import terms.tsv", editor)


def test_a_tampered_or_stale_confirmation_imports_nothing(editor_client, seed):
    response = editor_client.post(IMPORT, {"confirm": "1", "payload": "forged"}, follow=True)
    assert "nothing was imported" in " ".join(str(m) for m in response.context["messages"])
    assert Term.objects.count() == 31


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("terms.tsv", "title\tdefinition\nX\tY\n", "Missing column(s): name."),
        ("terms.tsv", b"name\tdefinition\n\xff\xfe\n", "it is not UTF-8 text"),
        ("terms.xlsx", b"not a workbook", "This is not an XLSX workbook that can be read."),
        ("terms.pdf", b"%PDF", "Unknown file type .pdf"),
    ],
)
def test_an_unreadable_file_is_a_form_error(editor_client, seed, name, data, error):
    response = upload(editor_client, seed, data, name=name)
    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors["file"])


def test_xlsx_imports_like_tsv(editor_client, seed):
    """The first sheet of a workbook is read like a TSV file."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "abbreviation", "expansion", "definition"])
    sheet.append(["DoRA", None, None, "Weight-Decomposed Low-Rank Adaptation."])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(editor_client, seed, buffer.getvalue(), name="terms.xlsx")
    assert [row[:3] for row in rows_of(response)] == [(2, "DoRA", "new")]


def test_the_seed_file_previews_as_unchanged(editor_client, seed, settings):
    """The seed's terms.tsv against the seed content: 31 rows, every one unchanged."""
    data = (settings.BASE_DIR / "fixtures" / "terms.tsv").read_bytes()
    response = upload(editor_client, seed, data)
    assert {row[2] for row in rows_of(response)} == {"unchanged"}
    assert len(rows_of(response)) == 31


def test_only_those_who_add_and_change_terms_import(client, analyst, seed):
    client.force_login(analyst)
    assert client.get(IMPORT).status_code == 403
    page = client.get(reverse("admin:terms_term_changelist"))
    assert IMPORT not in page.content.decode()


def test_the_export_imports_back(editor_client, seed):
    """The term list's export has the import's columns; importing it changes nothing."""
    every = list(Term.objects.values_list("pk", flat=True))
    export = editor_client.post(
        reverse("admin:terms_term_changelist"),
        {"action": "export_terms", "_selected_action": every},
    )
    assert export["Content-Disposition"] == 'attachment; filename="terms.csv"'
    text = export.content.decode()
    assert text.splitlines()[0] == "name,abbreviation,expansion,definition,slug,chapter,status"
    response = upload(editor_client, seed, text, name="terms.csv")
    assert {row[2] for row in rows_of(response)} == {"unchanged"}
    assert len(rows_of(response)) == 31
