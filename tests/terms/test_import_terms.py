"""The import_terms command: all-or-nothing imports with row-numbered errors."""

import pytest
from django.core.management import CommandError, call_command

from terms.models import Status, Term

HEADER = "name\tabbreviation\texpansion\tdefinition\n"


@pytest.fixture
def chapter(make_chapter):
    return make_chapter("agents")


def write(tmp_path, text, name="terms.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_creates_and_updates_terms(chapter, make_term, tmp_path, capsys):
    """New names become draft terms; known slugs are updated in place."""
    make_term(chapter, "Tool Use", definition="Old.")
    path = write(
        tmp_path,
        HEADER
        + "Tool Use\t\t\tCalling external tools from a model.\n"
        + "MCP\tMCP\tModel Context Protocol\tA protocol for connecting tools to models.\n",
    )
    call_command("import_terms", path, chapter="agents")
    mcp = Term.objects.get(slug="mcp")
    assert (mcp.abbreviation, mcp.expansion, mcp.status) == (
        "MCP",
        "Model Context Protocol",
        "draft",
    )
    tool_use = Term.objects.get(slug="tool-use")
    assert (tool_use.definition, tool_use.status) == (
        "Calling external tools from a model.",
        Status.PUBLISHED,
    )
    assert "1 created, 1 updated, 0 unchanged" in capsys.readouterr().out


def test_import_reads_csv_and_can_publish(chapter, tmp_path):
    """A .csv file works the same; --publish makes new terms live."""
    path = write(
        tmp_path,
        'name,abbreviation,expansion,definition\nPlanner,,,"Plans steps, then acts."\n',
        name="terms.csv",
    )
    call_command("import_terms", path, chapter="agents", publish=True)
    planner = Term.objects.get(slug="planner")
    assert (planner.definition, planner.status) == ("Plans steps, then acts.", "published")
    assert planner.published_at is not None


def test_import_with_bad_rows_writes_nothing(chapter, tmp_path, capsys):
    """Three bad rows: nothing is written and each is reported with its row number."""
    path = write(
        tmp_path,
        HEADER
        + "Good Term\t\t\tFine.\n"  # row 2
        + "\t\t\tNo name.\n"  # row 3
        + "No Definition\t\t\t\n"  # row 4
        + "Good Term\t\t\tSame slug as row 2.\n"  # row 5
        + f"Long\t{'X' * 60}\t\tAbbreviation too long.\n",  # row 6
    )
    with pytest.raises(CommandError, match="4 invalid row"):
        call_command("import_terms", path, chapter="agents")
    errors = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in errors] == ["Row 3", "Row 4", "Row 5", "Row 6"]
    assert "name: This field cannot be blank." in errors[0]
    assert "definition: This field cannot be blank." in errors[1]
    assert "duplicates the term of row 2" in errors[2]
    assert "abbreviation: Ensure this value has at most 50 characters" in errors[3]
    assert not Term.objects.exists()


def test_dry_run_reports_and_writes_nothing(chapter, make_term, tmp_path, capsys):
    """--dry-run lists what would change without touching the database."""
    make_term(chapter, "Tool Use", definition="Old.")
    path = write(tmp_path, HEADER + "Tool Use\t\t\tNew.\nPlanner\t\t\tPlans.\n")
    call_command("import_terms", path, chapter="agents", dry_run=True)
    output = capsys.readouterr().out
    assert "would update: Tool Use" in output
    assert "would create: Planner" in output
    assert "Dry run, nothing written: would be 1 created, 1 updated, 0 unchanged." in output
    assert list(Term.objects.values_list("slug", "definition")) == [("tool-use", "Old.")]


def test_import_refuses_a_term_of_another_chapter(chapter, make_chapter, make_term, tmp_path):
    """A slug that belongs to another chapter is an error, not a silent move."""
    make_term(make_chapter("other"), "Tool Use", definition="Old.")
    path = write(tmp_path, HEADER + "Tool Use\t\t\tNew.\n")
    with pytest.raises(CommandError, match="1 invalid row"):
        call_command("import_terms", path, chapter="agents")
    assert Term.objects.get().definition == "Old."


@pytest.mark.parametrize(
    ("text", "chapter_slug", "message"),
    [
        (HEADER, "missing", "No chapter with slug 'missing'"),
        ("title\tbody\nx\ty\n", "agents", "Missing column(s): name, definition"),
    ],
)
def test_import_refuses_bad_arguments(chapter, tmp_path, text, chapter_slug, message):
    """Unknown chapters and files without the expected columns are refused."""
    path = write(tmp_path, text)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("import_terms", path, chapter=chapter_slug)
