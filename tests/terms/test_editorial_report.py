"""The editorial report on links between terms, and the admin keeping links current."""

import pytest
from django.urls import reverse

from terms.models import Status, Term

REPORT = reverse("admin:terms_term_editorial_report")


def change_url(term):
    return reverse("admin:terms_term_change", args=[term.pk])


@pytest.fixture
def report_glossary(seed, make_term):
    """The seed, plus: a draft that a published term mentions, and two terms sharing "ZO"."""
    draft = make_term(seed, "Zeta Draft", status=Status.DRAFT)
    make_term(seed, "Zeta Notes", definition="See Zeta Draft.")
    make_term(seed, "Zeta One", aliases="ZO")
    make_term(seed, "Zeta Other", aliases="ZO")
    return draft


def test_report_lists_each_finding_with_links_to_the_terms(editor_client, report_glossary):
    """Every section names the terms and links to their change pages."""
    response = editor_client.get(REPORT)
    assert response.status_code == 200
    report = response.context["report"]
    terms = {term.slug: term for term in Term.objects.all()}
    missing = {(m.source.slug, m.target.slug) for m in report.mentions_not_in_see_also}
    assert missing == {
        ("data-cleaning", "evaluation"), ("dpo", "reward-model"),
        ("synthetic-data", "evaluation"), ("zeta-notes", "zeta-draft"),
    }  # fmt: skip
    assert [(m.source.slug, m.target.slug) for m in report.links_to_hidden] == [
        ("zeta-notes", "zeta-draft")
    ]
    assert [(item.form, [t.slug for t in item.terms]) for item in report.ambiguous] == [
        ("ZO", ["zeta-one", "zeta-other"]),
        ("ZOs", ["zeta-one", "zeta-other"]),
    ]
    assert "adapter-tuning" in {term.slug for term in report.orphans}
    assert "lora" not in {term.slug for term in report.orphans}
    html = response.content.decode()
    for slug in ["zeta-notes", "zeta-draft", "zeta-one", "adapter-tuning"]:
        assert f'href="{change_url(terms[slug])}"' in html


def test_report_is_for_staff_who_may_view_terms(client, django_user_model, seed):
    """Anonymous callers go to the login page; staff without the permission are refused."""
    assert client.get(REPORT).status_code == 302
    client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))
    assert client.get(REPORT).status_code == 403


def test_term_list_links_to_the_report(editor_client, seed):
    """The report is one click from the term list."""
    response = editor_client.get(reverse("admin:terms_term_changelist"))
    assert f'href="{REPORT}"' in response.content.decode()


def test_saving_a_term_in_the_admin_updates_the_links_of_others(editor_client, seed):
    """Adding an alias makes other texts that use it link to the term at once."""
    lora = Term.objects.get(slug="lora")
    assert not lora.mentioned_by.filter(slug="adapter-tuning").exists()
    response = editor_client.post(
        change_url(lora),
        {
            "name": "LoRA", "slug": "lora", "chapter": lora.chapter_id, "status": "published",
            "definition": lora.definition, "explanation": "", "abbreviation": "LoRA",
            "expansion": lora.expansion, "aliases": "adapter layers",
            "seo_title": "", "seo_description": "",
            "see_also": list(lora.related_terms.values_list("pk", flat=True)),
        },
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert lora.mentioned_by.filter(slug="adapter-tuning").exists()


def test_deleting_a_term_in_the_admin_relinks_shorter_names(editor_client, seed, make_term):
    """With "Reward Model" gone, "model" in DPO's definition links to a term "Model"."""
    make_term(seed, "Model", definition="A trained network.")
    reward_model = Term.objects.get(slug="reward-model")
    response = editor_client.post(
        reverse("admin:terms_term_delete", args=[reward_model.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert Term.objects.get(slug="model").mentioned_by.filter(slug="dpo").exists()
