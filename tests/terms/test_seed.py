"""The seed fixture and the load_seed command that `make run` uses."""

import csv

from django.conf import settings
from django.core.management import call_command

from terms.models import Chapter, Status, Term, TermRelation

SEED_TSV = settings.BASE_DIR.parent / "shared" / "seed" / "terms.tsv"
FIXTURE = str(settings.BASE_DIR / "fixtures" / "glossary.json")


def test_seed_has_31_published_terms_as_in_the_source(seed):
    """Names, abbreviations, expansions and definitions match the source table exactly."""
    terms = {
        term.name: (term.abbreviation, term.expansion, term.definition)
        for term in Term.objects.published()
    }
    assert len(terms) == 31
    assert seed.status == Status.PUBLISHED
    if SEED_TSV.exists():  # the source lives beside the repository, not in it
        with SEED_TSV.open(encoding="utf-8") as source:
            expected = {
                row["name"]: (row["abbreviation"], row["expansion"], row["definition"])
                for row in csv.DictReader(source, delimiter="\t")
            }
        assert terms == expected


def test_seed_links_related_terms_both_ways(seed):
    """The see-also groups a reader expects are linked in both directions."""
    lora = Term.objects.get(slug="lora")
    assert sorted(lora.related_terms.values_list("name", flat=True)) == [
        "Adapter Tuning", "PEFT", "Prefix Tuning", "Prompt Tuning", "QLoRA",
    ]  # fmt: skip
    assert sorted(Term.objects.get(slug="dpo").related_terms.values_list("slug", flat=True)) == [
        "preference-dataset"
    ]
    pairs = set(TermRelation.objects.values_list("from_term", "to_term"))
    assert pairs == {(b, a) for a, b in pairs}


def test_loading_twice_duplicates_nothing(db):
    """loaddata and load_seed can both run again without new rows."""
    call_command("loaddata", FIXTURE, verbosity=0)
    call_command("loaddata", FIXTURE, verbosity=0)
    assert (Chapter.objects.count(), Term.objects.count()) == (1, 31)
    assert TermRelation.objects.count() == 92


def test_load_seed_does_not_overwrite_editors_changes(db, capsys):
    """A second `make run` keeps what editors changed since the first."""
    call_command("load_seed", FIXTURE)
    Term.objects.filter(slug="epoch").update(definition="Edited by an editor.")
    call_command("load_seed", FIXTURE)
    assert Term.objects.get(slug="epoch").definition == "Edited by an editor."
    assert Term.objects.count() == 31
    output = capsys.readouterr().out
    assert "Loaded 124 objects from glossary.json." in output
    assert "Skipped glossary.json: already loaded" in output


def test_make_run_seed_loads_the_glossary_and_its_quiz(db):
    """`load_seed fixtures/*.json`, as `make run` calls it, loads chapter, terms and quiz."""
    from quizzes.models import Quiz

    fixtures = sorted((settings.BASE_DIR / "fixtures").glob("*.json"))
    call_command("load_seed", *fixtures)
    quiz = Quiz.objects.get()
    assert (quiz.status, quiz.questions.count()) == (Status.PUBLISHED, 14)
    assert quiz.questions.filter(term__isnull=True).count() == 0
