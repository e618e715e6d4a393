"""Reading quizzes over GraphQL: no answers revealed, drafts hidden, constant query count."""

import pytest
from strawberry.relay import from_base64, to_base64

from glossary_backend.schema import schema
from quizzes.models import Choice, Question, Quiz
from terms.models import Status
from tests.quizzes.conftest import SINGLE as SINGLE_KIND
from tests.quizzes.conftest import gid

QUIZ = """
query($slug: String!) {
  quiz(slug: $slug) {
    id slug title passPercentage questionCount
    chapter { slug }
    questions { position prompt kind choices { id text } }
  }
}
"""

QUIZZES = """
query($filters: QuizFilter) {
  quizzes(filters: $filters) { totalCount edges { node { slug questionCount } } }
}
"""


def test_seed_quiz_reads_whole(seed_quiz, graphql):
    """The seed quiz: 14 questions of all three kinds."""
    quiz = graphql(QUIZ, {"slug": "fine-tuning-alignment-quiz"})["data"]["quiz"]
    assert quiz["id"] == gid(seed_quiz)
    assert (quiz["questionCount"], quiz["passPercentage"]) == (14, 70)
    assert quiz["chapter"] == {"slug": "fine-tuning-alignment-terms"}
    assert {q["kind"] for q in quiz["questions"]} == {"SINGLE", "MULTIPLE", "TRUE_FALSE"}
    first = quiz["questions"][0]
    assert first == {
        "position": 1,
        "prompt": "Which term names a parameter-efficient method that trains small low-rank "
        "adapter matrices instead of all model weights?",
        "kind": "SINGLE",
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


QUESTION_TERMS = """
query($slug: String!, $id: ID!) {
  quiz(slug: $slug) { questions { term { slug } } }
  node(id: $id) { ... on Question { term { slug } } }
}
"""


def test_question_term_is_deprecated_and_null(seed_quiz, graphql, client, staff):
    """Question.term stays in the schema, deprecated, and tells nothing before submission:
    in a "which term is it?" question the term tested is the correct choice. Null on the
    quiz and on node(id), for anonymous callers and staff alike; QuestionResult.term tells
    it after submission."""
    field = schema._schema.type_map["Question"].fields["term"]
    assert "QuestionResult.term" in field.deprecation_reason
    variables = {"slug": seed_quiz.slug, "id": gid(seed_quiz.questions.first())}
    expected = {"quiz": {"questions": [{"term": None}] * 14}, "node": {"term": None}}
    assert graphql(QUESTION_TERMS, variables)["data"] == expected
    client.force_login(staff)
    assert graphql(QUESTION_TERMS, variables)["data"] == expected


@pytest.mark.parametrize("question_count", [5, 50])
def test_quiz_query_count_is_constant(make_quiz, make_chapter, make_term, graphql,
                                      django_assert_num_queries, question_count):  # fmt: skip
    """quiz > questions > choices costs the same number of queries at any size; the
    deprecated Question.term adds none."""
    chapter = make_chapter("basics")
    quiz = make_quiz(
        [(Question.Kind.MULTIPLE, [True, False, True, False])] * question_count, chapter=chapter
    )
    for question in quiz.questions.all():
        question.term = make_term(chapter, f"Term {question.position}")
        question.save()
    # quiz with its question count, its chapter, questions, their choices
    with django_assert_num_queries(4):
        result = graphql(QUIZ, {"slug": quiz.slug})
    questions = result["data"]["quiz"]["questions"]
    assert len(questions) == question_count
    assert all(len(q["choices"]) == 4 for q in questions)
    with django_assert_num_queries(4):
        result = graphql(QUIZ.replace("kind choices", "kind term { slug } choices"),
                         {"slug": quiz.slug})  # fmt: skip
    assert [q["term"] for q in result["data"]["quiz"]["questions"]] == [None] * question_count


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


def test_term_lists_its_chapters_quizzes(make_quiz, make_chapter, make_term, graphql):
    """Term.quizzes: the published quizzes of the term's chapter, the same for every term
    of it whichever terms the quizzes ask about; none of another chapter, none across
    chapters."""
    chapter, other = make_chapter("basics"), make_chapter("other")
    lora, rlhf, dpo = (make_term(chapter, name) for name in ("LoRA", "RLHF", "DPO"))
    ppo = make_term(other, "PPO")
    about_lora = make_quiz([(SINGLE_KIND, [True, False])] * 2, slug="lora", chapter=chapter)
    about_lora.questions.update(term=lora)
    make_quiz([(SINGLE_KIND, [True, False])], slug="untagged", chapter=chapter)
    draft = make_quiz([(SINGLE_KIND, [True, False])], slug="draft", chapter=chapter,
                      status=Status.DRAFT)  # fmt: skip
    draft.questions.update(term=rlhf)
    across = make_quiz([(SINGLE_KIND, [True, False])] * 2, slug="across")
    across.questions.update(term=dpo)
    elsewhere = make_quiz([(SINGLE_KIND, [True, False])], slug="elsewhere", chapter=other)
    elsewhere.questions.update(term=ppo)
    make_quiz([(SINGLE_KIND, [True, False])], slug="hidden", chapter=other, status=Status.DRAFT)

    result = graphql(TERM_QUIZZES, {"chapter": "basics"})

    listed = {
        "totalCount": 2,
        "edges": [{"node": {"slug": "lora"}}, {"node": {"slug": "untagged"}}],
    }
    assert {
        edge["node"]["slug"]: edge["node"]["quizzes"]
        for edge in result["data"]["chapter"]["terms"]["edges"]
    } == {"dpo": listed, "lora": listed, "rlhf": listed}
    one = graphql('{ term(slug: "ppo") { quizzes { totalCount edges { node { slug } } } } }')
    assert one["data"]["term"]["quizzes"] == {
        "totalCount": 1, "edges": [{"node": {"slug": "elsewhere"}}]
    }  # fmt: skip


def test_term_quizzes_do_not_give_the_answer_away(seed_quiz, graphql):
    """In the seed quiz's "which term is it?" questions, the choices' terms all list the
    quiz or none does: which terms the quiz asks about is not told."""
    result = graphql(TERM_QUIZZES, {"chapter": seed_quiz.chapter.slug})
    per_term = quizzes_per_term(result)
    assert len(per_term) == 31
    assert set(map(tuple, per_term.values())) == {(seed_quiz.slug,)}


@pytest.mark.parametrize("term_count", [3, 30])
def test_term_quizzes_query_count_is_constant(make_quiz, make_chapter, make_term, graphql,
                                              django_assert_num_queries, term_count):  # fmt: skip
    """chapter > terms > quizzes costs the same number of queries for 3 terms or 30."""
    chapter = make_chapter("basics")
    make_quiz([(SINGLE_KIND, [True, False])], chapter=chapter)
    for number in range(term_count):
        make_term(chapter, f"Term {number}")
    # the chapter; its terms, counted in the same query; their chapters; those chapters'
    # quizzes, counted alike
    with django_assert_num_queries(4):
        result = graphql(TERM_QUIZZES, {"chapter": "basics"})
    assert all(slugs == ["quiz"] for slugs in quizzes_per_term(result).values())
    assert len(quizzes_per_term(result)) == term_count
