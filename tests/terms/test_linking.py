"""Automatic links between terms: each rule, through /graphql as a frontend reads them."""

import pytest
from django.core.management import CommandError, call_command

from terms.linking import LinkableTerm, Linker
from terms.models import Status, Term
from terms.services import content_set_status, term_mentions_refresh

LINKED = """
query($slug: String!) {
  term(slug: $slug) {
    definitionHtml
    explanationHtml
    definitionSegments { text term { slug } }
  }
}
"""
BACKLINKS = """
query($slug: String!) {
  term(slug: $slug) { backlinks(first: 10) { totalCount edges { node { slug } } } }
}
"""


def a(slug, text):
    return f'<a href="https://glossary.example.com/terms/{slug}" data-term="{slug}">{text}</a>'


@pytest.fixture
def chapter(make_chapter):
    return make_chapter("basics")


def html(graphql, slug):
    return graphql(LINKED, {"slug": slug})["data"]["term"]["definitionHtml"]


def test_longest_match_wins(chapter, make_term, graphql):
    """ "reward model" links Reward Model, not Model."""
    make_term(chapter, "Model")
    make_term(chapter, "Reward Model")
    make_term(chapter, "RLHF", definition="It trains a reward model first.")
    assert html(graphql, "rlhf") == f"It trains a {a('reward-model', 'reward model')} first."


def test_only_the_first_mention_links(chapter, make_term, graphql):
    """A second mention of the same term in the field stays plain text."""
    make_term(chapter, "LoRA", abbreviation="LoRA")
    make_term(chapter, "QLoRA", definition="Quantized LoRA, combined with LoRA adapters.")
    assert html(graphql, "qlora") == f"Quantized {a('lora', 'LoRA')}, combined with LoRA adapters."


def test_plurals_link_to_the_singular(chapter, make_term, graphql):
    """Regular plurals: +s, +es, consonant y to ies; acronyms too."""
    make_term(chapter, "Epoch")
    make_term(chapter, "Family")
    make_term(chapter, "LoRA")
    make_term(chapter, "Notes", definition="Several epochs, families and LoRAs.")
    assert html(graphql, "notes") == (
        f"Several {a('epoch', 'epochs')}, {a('family', 'families')} and {a('lora', 'LoRAs')}."
    )


def test_acronyms_match_their_case_and_whole_words_only(chapter, make_term, graphql):
    """LoRA is not "lora" or "LORA", nor the middle of "exploratory"; names match any case."""
    make_term(chapter, "LoRA")
    make_term(chapter, "Batch Size")
    make_term(chapter, "Notes", definition="lora, LORA, exploratory, BATCH SIZE.")
    assert html(graphql, "notes") == f"lora, LORA, exploratory, {a('batch-size', 'BATCH SIZE')}."


def test_names_match_on_word_boundaries(chapter, make_term, graphql):
    """ "Epoch" inside "Epochal" or "epoch_count" is no mention; next to punctuation it is."""
    make_term(chapter, "Epoch")
    make_term(chapter, "Notes", definition="Epochal epoch_count (epoch).")
    assert html(graphql, "notes") == f"Epochal epoch_count ({a('epoch', 'epoch')})."


def test_aliases_and_abbreviations_link(chapter, make_term, graphql):
    """Any of a term's names links to it."""
    make_term(chapter, "Supervised Fine-Tuning", abbreviation="SFT", aliases="instruction SFT")
    make_term(chapter, "Notes", definition="Run SFT.")
    make_term(chapter, "More", definition="Try instruction SFT now.")
    assert html(graphql, "notes") == f"Run {a('supervised-fine-tuning', 'SFT')}."
    assert html(graphql, "more") == f"Try {a('supervised-fine-tuning', 'instruction SFT')} now."


def test_a_term_never_links_to_itself(chapter, make_term, graphql):
    """Its own name is plain text, and shorter names inside it do not link either."""
    make_term(chapter, "Model")
    make_term(chapter, "Reward Model", definition="Reward Model is a model that scores.")
    assert html(graphql, "reward-model") == f"Reward Model is a {a('model', 'model')} that scores."


@pytest.mark.parametrize("hide", ["draft", "unpublished", "archived"])
def test_hidden_targets_do_not_link_and_reappear_when_published(chapter, make_term, graphql, hide):
    """Unpublishing a term removes the links to it at once; publishing brings them back."""
    lora = make_term(chapter, "LoRA")
    make_term(chapter, "QLoRA", definition="Quantized LoRA.")
    status = {"draft": Status.DRAFT, "unpublished": Status.DRAFT, "archived": Status.ARCHIVED}
    content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=status[hide])
    result = graphql(LINKED, {"slug": "qlora"})["data"]["term"]
    assert result["definitionHtml"] == "Quantized LoRA."
    assert result["definitionSegments"] == [{"text": "Quantized LoRA.", "term": None}]
    content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.PUBLISHED)
    assert html(graphql, "qlora") == f"Quantized {a('lora', 'LoRA')}."


def test_staff_preview_links_to_drafts(chapter, make_term, graphql, staff_client):
    """Staff see drafts, so their preview links to them."""
    make_term(chapter, "LoRA", status=Status.DRAFT)
    make_term(chapter, "QLoRA", definition="Quantized LoRA.")
    assert html(graphql, "qlora") == f"Quantized {a('lora', 'LoRA')}."


def test_ambiguous_mentions_do_not_link(chapter, make_term, graphql):
    """Two terms share an alias: the alias links to neither; other mentions still link."""
    make_term(chapter, "Proximal Policy Optimization", aliases="PO")
    make_term(chapter, "Preference Optimization", aliases="PO")
    make_term(chapter, "Notes", definition="PO, or Preference Optimization.")
    assert html(graphql, "notes") == (
        f"PO, or {a('preference-optimization', 'Preference Optimization')}."
    )


def test_ambiguous_forms_are_reported():
    """The linker lists each form shared by two terms, with both terms."""
    linker = Linker(
        [
            LinkableTerm(1, "ppo", "Proximal Policy Optimization", aliases="PO\nPolicy"),
            LinkableTerm(2, "po", "Preference Optimization", aliases="PO"),
            LinkableTerm(3, "policy", "policy"),
        ]
    )
    assert linker.ambiguous_forms() == {
        "PO": [1, 2], "POs": [1, 2], "Policy": [1, 3], "policy": [1, 3],
        "Policies": [1, 3], "policies": [1, 3],
    }  # fmt: skip


def test_definition_segments_join_into_the_definition(seed, graphql):
    """Pieces in order, each linked piece with its term."""
    result = graphql(LINKED, {"slug": "qlora"})["data"]["term"]
    assert result["definitionSegments"] == [
        {"text": "Quantized ", "term": None},
        {"text": "LoRA", "term": {"slug": "lora"}},
        {
            "text": ", a memory-efficient fine-tuning method that combines quantization with "
            "LoRA adapters.",
            "term": None,
        },
    ]


def test_explanation_links_outside_code_links_and_headings(chapter, make_term, graphql):
    """Markdown: headings, code spans, code blocks and existing links keep their text."""
    make_term(chapter, "LoRA")
    make_term(chapter, "Adapter")
    make_term(
        chapter,
        "QLoRA",
        explanation="# About LoRA\n\nSee `LoRA`, [LoRA](https://example.org) and **LoRA**, "
        "then adapters.\n\n    LoRA in code\n",
    )
    assert graphql(LINKED, {"slug": "qlora"})["data"]["term"]["explanationHtml"] == (
        "<h1>About LoRA</h1>\n"
        '<p>See <code>LoRA</code>, <a href="https://example.org">LoRA</a> and '
        f"<strong>{a('lora', 'LoRA')}</strong>, then {a('adapter', 'adapters')}.</p>\n"
        "<pre><code>LoRA in code\n</code></pre>\n"
    )


HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(1)> "
    '<a href="javascript:alert(1)" onclick="alert(1)">x</a>\n\n'
    "[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) "
    "![img](javascript:alert(1))\n"
)


def test_explanation_html_is_sanitized(chapter, make_term, graphql):
    """Raw HTML is shown as text; javascript: and data: links are not links."""
    make_term(chapter, "Hostile", explanation=HOSTILE, definition="<b onmouseover=x>Bold</b>")
    result = graphql(LINKED, {"slug": "hostile"})["data"]["term"]
    assert result["explanationHtml"] == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; "
        '&lt;a href="javascript:alert(1)" onclick="alert(1)"&gt;x&lt;/a&gt;'
        "</p>\n<p>[click](javascript:alert(1)) "
        "[data](data:text/html;base64,PHNjcmlwdD4=) ![img](javascript:alert(1))</p>\n"
    )
    assert result["definitionHtml"] == "&lt;b onmouseover=x&gt;Bold&lt;/b&gt;"


def backlink_slugs(graphql, slug):
    backlinks = graphql(BACKLINKS, {"slug": slug})["data"]["term"]["backlinks"]
    slugs = [edge["node"]["slug"] for edge in backlinks["edges"]]
    assert backlinks["totalCount"] == len(slugs)
    return slugs


def test_backlinks_follow_publishing(seed, graphql):
    """Terms that mention Evaluation; an unpublished one drops out at once, and comes back."""
    assert backlink_slugs(graphql, "evaluation") == ["data-cleaning", "synthetic-data", "test-set"]
    content_set_status(queryset=Term.objects.filter(slug="synthetic-data"), status=Status.DRAFT)
    assert backlink_slugs(graphql, "evaluation") == ["data-cleaning", "test-set"]
    content_set_status(queryset=Term.objects.filter(slug="synthetic-data"), status=Status.PUBLISHED)
    assert backlink_slugs(graphql, "evaluation") == ["data-cleaning", "synthetic-data", "test-set"]


def test_mention_table_follows_renames(chapter, make_term):
    """Renaming a term changes which texts link to it; the refresh finds them all."""
    model = make_term(chapter, "Model")
    make_term(chapter, "Notes", definition="A network.")
    assert not model.mentioned_by.exists()
    Term.objects.filter(pk=model.pk).update(name="Network")
    assert term_mentions_refresh().added == 1
    assert list(model.mentioned_by.values_list("slug", flat=True)) == ["notes"]
    assert term_mentions_refresh(dry_run=True).added == 0


def test_refresh_command_checks_and_repairs_the_table(chapter, make_term):
    """--check fails on a stale table and changes nothing; without it, the table is fixed."""
    make_term(chapter, "Model")
    make_term(chapter, "Notes", definition="A network.")
    Term.objects.filter(slug="model").update(name="Network")
    with pytest.raises(CommandError, match="1 link\\(s\\) missing, 0 stale"):
        call_command("refresh_term_mentions", "--check")
    call_command("refresh_term_mentions")
    call_command("refresh_term_mentions", "--check")
    assert list(Term.objects.get(slug="model").mentioned_by.values_list("slug", flat=True)) == [
        "notes"
    ]
