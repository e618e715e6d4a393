"""Reading quizzes over GraphQL: no answers revealed, drafts hidden, constant query count."""

import pytest
from django.utils import timezone
from strawberry.relay import from_base64, to_base64

from glossary_backend.schema import schema
from quizzes.models import Choice, Question, Quiz
from terms.models import Status, Term
from tests.quizzes.conftest import SINGLE as SINGLE_KIND
from tests.quizzes.conftest import gid

QUIZ = """
query($slug: String!) {
  quiz(slug: $slug) {
    id slug title passPercentage questionCount
    chapter { slug }
    questions { position prompt kind term { slug } choices { id text } }
  }
}
"""

QUIZZES = """
query($filters: QuizFilter) {
  quizzes(filters: $filters) { totalCount edges { node { slug questionCount } } }
}
"""


def test_seed_quiz_reads_whole(seed_quiz, graphql):
    """The seed quiz: 14 questions of all three kinds, each linked to its term."""
    quiz = graphql(QUIZ, {"slug": "fine-tuning-alignment-quiz"})["data"]["quiz"]
    assert quiz["id"] == gid(seed_quiz)
    assert (quiz["questionCount"], quiz["passPercentage"]) == (14, 70)
    assert quiz["chapter"] == {"slug": "fine-tuning-alignment-terms"}
    assert {q["kind"] for q in quiz["questions"]} == {"SINGLE", "MULTIPLE", "TRUE_FALSE"}
    assert all(q["term"] for q in quiz["questions"])
    first = quiz["questions"][0]
    assert first == {
        "position": 1,
        "prompt": "Which term names a parameter-efficient method that trains small low-rank "
        "adapter matrices instead of all model weights?",
        "kind": "SINGLE",
        "term": {"slug": "lora"},
        "choices": [
            {"id": gid(choice), "text": choice.text}
            for choice in Choice.objects.filter(question__position=1).order_by("public_id")
        ],
    }
    assert sorted(c["text"] for c in first["choices"]) == [
        "Checkpoint", "Full Fine-Tuning", "LoRA", "Model Merging",
    ]  # fmt: skip


def test_seed_quiz_is_not_first_correct(seed_quiz, graphql):
    """Neither authoring order nor the order or IDs the API serves put the correct choice
    first throughout."""
    questions = seed_quiz.questions.prefetch_related("choices")
    assert not all(question.choices.all()[0].is_correct for question in questions)
    served = graphql(QUIZ, {"slug": "fine-tuning-alignment-quiz"})["data"]["quiz"]["questions"]
    correct = {gid(choice) for choice in Choice.objects.filter(is_correct=True)}
    assert not all(question["choices"][0]["id"] in correct for question in served)
    # Served by public id, so the first served is the lowest ID as well.
    for question in served:
        ids = [int(from_base64(choice["id"])[1]) for choice in question["choices"]]
        assert ids == sorted(ids)


def test_quizzes_filter_by_chapter(seed_quiz, make_quiz, make_chapter, graphql):
    """quizzes lists published quizzes; the chapter filter narrows them."""
    make_quiz([(Question.Kind.SINGLE, [True, False])], slug="general")
    make_quiz([(Question.Kind.SINGLE, [True, False])], slug="draft", status=Status.DRAFT)
    everything = graphql(QUIZZES)["data"]["quizzes"]
    assert everything["totalCount"] == 2
    assert [edge["node"] for edge in everything["edges"]] == [
        {"slug": "fine-tuning-alignment-quiz", "questionCount": 14},
        {"slug": "general", "questionCount": 1},
    ]
    in_chapter = graphql(QUIZZES, {"filters": {"chapter": "fine-tuning-alignment-terms"}})
    assert in_chapter["data"]["quizzes"]["totalCount"] == 1


def test_chapter_lists_its_quizzes(seed_quiz, graphql):
    """Chapter.quizzes is a connection of the chapter's published quizzes."""
    result = graphql(
        '{ chapter(slug: "fine-tuning-alignment-terms") {'
        " quizzes { totalCount edges { node { slug } } } } }"
    )
    assert result["data"]["chapter"]["quizzes"] == {
        "totalCount": 1,
        "edges": [{"node": {"slug": "fine-tuning-alignment-quiz"}}],
    }


def test_no_field_reveals_correct_answers():
    """The schema's Quiz, Question and Choice have no field that tells what is correct."""
    type_map = schema._schema.type_map
    fields = {name: set(type_map[name].fields) for name in ("Question", "Choice", "Quiz")}
    assert fields == {
        "Question": {"id", "position", "prompt", "kind", "term", "choices"},
        "Choice": {"id", "text"},
        "Quiz": {
            "id", "slug", "title", "description", "chapter", "passPercentage", "questions",
            "questionCount", "updatedAt",
        },
    }  # fmt: skip


@pytest.mark.parametrize("hide", ["draft quiz", "archived quiz", "draft chapter"])
def test_hidden_quizzes_are_invisible_to_anonymous(seed_quiz, graphql, staff, client, hide):
    """Draft or archived quizzes, and quizzes of draft chapters, are hidden on every path."""
    if hide == "draft chapter":
        seed_quiz.chapter.status = Status.DRAFT
        seed_quiz.chapter.save()
    else:
        seed_quiz.status = Status.DRAFT if hide == "draft quiz" else Status.ARCHIVED
        seed_quiz.save()
    question = seed_quiz.questions.first()
    choice = question.choices.first()
    assert graphql(QUIZ, {"slug": seed_quiz.slug})["data"] == {"quiz": None}
    assert graphql(QUIZZES)["data"]["quizzes"]["totalCount"] == 0
    for obj in (seed_quiz, question, choice):
        node = graphql("query($id: ID!) { node(id: $id) { id } }", {"id": gid(obj)})
        assert node["data"] == {"node": None}

    client.force_login(staff)
    assert graphql(QUIZ, {"slug": seed_quiz.slug})["data"]["quiz"]["questionCount"] == 14


def test_question_term_hides_unpublished_terms(seed_quiz, graphql):
    """A question's term is null while that term is a draft."""
    Term.objects.filter(slug="lora").update(status=Status.DRAFT, published_at=None)
    quiz = graphql(QUIZ, {"slug": seed_quiz.slug})["data"]["quiz"]
    assert quiz["questions"][0]["term"] is None
    assert quiz["questions"][1]["term"] == {"slug": "catastrophic-forgetting"}


@pytest.mark.parametrize("question_count", [5, 50])
def test_quiz_query_count_is_constant(make_quiz, make_chapter, make_term, graphql,
                                      django_assert_num_queries, question_count):  # fmt: skip
    """quiz > questions > term + choices costs the same number of queries at any size."""
    chapter = make_chapter("basics")
    quiz = make_quiz(
        [(Question.Kind.MULTIPLE, [True, False, True, False])] * question_count, chapter=chapter
    )
    for question in quiz.questions.all():
        question.term = make_term(chapter, f"Term {question.position}")
        question.save()
    # quiz with its question count, its chapter, questions, their terms, their choices
    with django_assert_num_queries(5):
        result = graphql(QUIZ, {"slug": quiz.slug})
    questions = result["data"]["quiz"]["questions"]
    assert len(questions) == question_count
    assert all(len(q["choices"]) == 4 and q["term"] for q in questions)


def test_node_fetches_questions_and_choices(seed_quiz, graphql):
    """Questions and choices are nodes too."""
    question = seed_quiz.questions.first()
    result = graphql(
        "query($id: ID!) { node(id: $id) { ... on Question { prompt choices { text } } } }",
        {"id": to_base64("Question", question.pk)},
    )
    assert result["data"]["node"]["prompt"] == question.prompt
    assert Quiz.objects.count() == 1


TERM_QUIZZES = """
query($chapter: String!) {
  chapter(slug: $chapter) {
    terms(first: 100) {
      edges { node { slug quizzes { totalCount edges { node { slug } } } } }
    }
  }
}
"""


def quizzes_per_term(result) -> dict[str, list[str]]:
    edges = result["data"]["chapter"]["terms"]["edges"]
    return {
        edge["node"]["slug"]: [quiz["node"]["slug"] for quiz in edge["node"]["quizzes"]["edges"]]
        for edge in edges
    }


def test_term_lists_the_visible_quizzes_that_ask_about_it(
    make_quiz, make_chapter, make_term, graphql
):
    """Term.quizzes: each published quiz with a question on the term, once, however many."""
    chapter = make_chapter("basics")
    lora, rlhf, dpo = (make_term(chapter, name) for name in ("LoRA", "RLHF", "DPO"))
    twice = make_quiz([(SINGLE_KIND, [True, False])] * 2, slug="twice", chapter=chapter)
    once = make_quiz([(SINGLE_KIND, [True, False])], slug="once", chapter=chapter)
    draft = make_quiz([(SINGLE_KIND, [True, False])], slug="draft", status=Status.DRAFT)
    twice.questions.update(term=lora)
    once.questions.update(term=lora)
    draft.questions.update(term=rlhf)
    # A retired version asks nothing: only the attempts that answered it keep it.
    retired = make_quiz([(SINGLE_KIND, [True, False])] * 2, slug="retired", chapter=chapter)
    retired.questions.update(term=dpo)
    retired.questions.filter(position=1).update(retired_at=timezone.now(), term=rlhf)

    result = graphql(TERM_QUIZZES, {"chapter": "basics"})

    assert quizzes_per_term(result) == {"dpo": ["retired"], "lora": ["once", "twice"], "rlhf": []}
    counts = {
        edge["node"]["slug"]: edge["node"]["quizzes"]["totalCount"]
        for edge in result["data"]["chapter"]["terms"]["edges"]
    }
    assert counts == {"dpo": 1, "lora": 2, "rlhf": 0}


@pytest.mark.parametrize("term_count", [3, 30])
def test_term_quizzes_query_count_is_constant(make_quiz, make_chapter, make_term, graphql,
                                              django_assert_num_queries, term_count):  # fmt: skip
    """chapter > terms > quizzes costs the same number of queries for 3 terms or 30."""
    chapter = make_chapter("basics")
    quiz = make_quiz([(SINGLE_KIND, [True, False])] * term_count, chapter=chapter)
    for question in quiz.questions.all():
        question.term = make_term(chapter, f"Term {question.position}")
        question.save()
    # the chapter; its terms, counted in the same query; their quizzes, counted alike
    with django_assert_num_queries(3):
        result = graphql(TERM_QUIZZES, {"chapter": "basics"})
    assert all(slugs == ["quiz"] for slugs in quizzes_per_term(result).values())
    assert len(quizzes_per_term(result)) == term_count
