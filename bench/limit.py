"""The practical limit: hand-written Django views that run the same ORM queries as the
GraphQL API (same prefetches, same visibility) and build the identical JSON response.

Served beside the API by bench/urls.py, only in benchmark runs.
"""

import json

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Window
from django.db.models.functions import Lower
from django.http import HttpResponse
from strawberry.relay import to_base64

from analytics.statistics import ANALYTICS_PERMISSION, quiz_analytics
from bench.data import first_choice_answers
from glossary_backend.clients import client_address
from quizzes.models import Choice, Question, Quiz
from quizzes.ratelimit import submission_retry_after
from quizzes.selectors import attempt_with_results
from quizzes.services import AnswerInput, attempt_submit
from terms.models import Chapter, Term
from terms.search import search_terms

TERM_ORDER = (Lower("name"), "pk")


def respond(data) -> HttpResponse:
    return HttpResponse(json.dumps({"data": data}), content_type="application/json")


def cursor(index: int) -> str:
    return to_base64("arrayconnection", index)


def visible_terms(request):
    return Term.objects.visible_to(request.user).order_by(*TERM_ORDER)


def term_page(request):
    """W1: term(slug) { id slug name abbreviation definition chapter { slug title }
    relatedTerms { slug name } }"""
    terms = (
        visible_terms(request)
        .filter(slug=request.GET["slug"])
        .prefetch_related(
            Prefetch(
                "chapter", queryset=Chapter.objects.visible_to(request.user).only("slug", "title")
            ),
            Prefetch("related_terms", queryset=visible_terms(request).only("slug", "name")),
        )
        .only("slug", "name", "abbreviation", "definition", "chapter_id")
    )
    term = terms.first()
    return respond(
        {
            "term": term
            and {
                "id": to_base64("Term", term.pk),
                "slug": term.slug,
                "name": term.name,
                "abbreviation": term.abbreviation,
                "definition": term.definition,
                "chapter": {"slug": term.chapter.slug, "title": term.chapter.title},
                "relatedTerms": [
                    {"slug": r.slug, "name": r.name} for r in term.related_terms.all()
                ],
            }
        }
    )


def _term_node(term):
    return {
        "slug": term.slug,
        "name": term.name,
        "abbreviation": term.abbreviation,
        "expansion": term.expansion,
        "definition": term.definition,
        "aliases": term.alias_list,
        "updatedAt": term.updated_at.isoformat(),
        "relatedTerms": [{"slug": r.slug} for r in term.related_terms.all()],
    }


def chapter_page(request):
    """W2: chapter(slug) { title terms(first: 100) { totalCount edges { cursor node {
    slug name abbreviation expansion definition aliases updatedAt relatedTerms { slug } } } } }"""
    page = visible_terms(request).prefetch_related(
        Prefetch("related_terms", queryset=visible_terms(request).only("slug"))
    )
    chapter = (
        Chapter.objects.visible_to(request.user)
        .filter(slug=request.GET["slug"])
        .only("title")
        .first()
    )
    if chapter is None:
        return respond({"chapter": None})
    # The total comes with the page, as a window over every matching row.
    nodes = list(page.filter(chapter=chapter).annotate(total=Window(Count("*")))[:100])
    return respond(
        {
            "chapter": {
                "title": chapter.title,
                "terms": {
                    "totalCount": nodes[0].total if nodes else 0,
                    "edges": [
                        {"cursor": cursor(i), "node": _term_node(t)} for i, t in enumerate(nodes)
                    ],
                },
            }
        }
    )


def chapters_page(request):
    """W3: chapters(first: 50) { edges { node { slug title terms(first: 100) { edges {
    node { slug name } } } } } }"""
    chapters = Chapter.objects.visible_to(request.user).prefetch_related(
        Prefetch(
            "terms",
            queryset=visible_terms(request).only("slug", "name", "chapter_id")[:100],
            to_attr="page",
        )
    )[:50]
    return respond(
        {
            "chapters": {
                "edges": [
                    {
                        "node": {
                            "slug": c.slug,
                            "title": c.title,
                            "terms": {
                                "edges": [
                                    {"node": {"slug": t.slug, "name": t.name}} for t in c.page
                                ]
                            },
                        }
                    }
                    for c in chapters
                ]
            }
        }
    )


def search(request):
    """W4: search(query, first: 20) { rank term { slug name } }"""
    hits = search_terms(query=request.GET["query"], user=request.user, limit=20)
    terms = {
        t.pk: t for t in Term.objects.filter(pk__in=[h.term_id for h in hits]).only("slug", "name")
    }
    return respond(
        {
            "search": [
                {
                    "rank": h.rank,
                    "term": {"slug": terms[h.term_id].slug, "name": terms[h.term_id].name},
                }
                for h in hits
            ]
        }
    )


def quiz_page(request):
    """W5: quiz(slug) { id title questions { id position prompt kind choices { id text } } }"""
    quiz = (
        Quiz.objects.visible_to(request.user)
        .filter(slug=request.GET["slug"])
        .prefetch_related(
            Prefetch(
                "questions",
                queryset=Question.objects.visible_to(request.user)
                .order_by("position")
                .prefetch_related(
                    Prefetch(
                        "choices",
                        queryset=Choice.objects.visible_to(request.user).order_by("position"),
                    )
                ),
            )
        )
        .first()
    )
    return respond(
        {
            "quiz": quiz
            and {
                "id": to_base64("Quiz", quiz.pk),
                "title": quiz.title,
                "questions": [
                    {
                        "id": to_base64("Question", q.pk),
                        "position": q.position,
                        "prompt": q.prompt,
                        "kind": q.kind.upper(),
                        "choices": [
                            {"id": to_base64("Choice", c.pk), "text": c.text}
                            for c in q.choices.all()
                        ],
                    }
                    for q in quiz.questions.all()
                ],
            }
        }
    )


def analytics(request):
    """W7: quizAnalytics(quiz) { summary { attempts meanPercentage medianPercentage }
    questions { facility discrimination } reliability { kr20 } }"""
    if not request.user.has_perm(ANALYTICS_PERMISSION):
        raise PermissionDenied
    quiz = Quiz.objects.get(slug=request.GET["slug"])
    result = quiz_analytics(quiz=quiz)
    return respond(
        {
            "quizAnalytics": {
                "summary": {
                    "attempts": result.summary.attempts,
                    "meanPercentage": result.summary.mean_percentage,
                    "medianPercentage": result.summary.median_percentage,
                },
                "questions": [
                    {"facility": q.facility, "discrimination": q.discrimination}
                    for q in result.questions
                ],
                "reliability": {"kr20": result.reliability.kr20},
            }
        }
    )


def submit(request):
    """W6: submitQuizAttempt(input: {quiz, answers: first choice of every question,
    idempotencyKey}) { __typename ... on QuizAttempt { score maxScore percentage passed
    results { correct } } }"""
    submission_retry_after(client_address(request))
    quiz_id = int(request.GET["quiz"])
    # The IDs the API decodes from the mutation's input, known here by construction.
    attempt = attempt_submit(
        quiz_id=quiz_id,
        answers=[
            AnswerInput(question_id, [choice_id])
            for question_id, choice_id in first_choice_answers(quiz_id)
        ],
        idempotency_key=request.GET["key"],
        user=request.user,
    )
    attempt = attempt_with_results(attempt_id=attempt.pk, user=request.user)
    return respond(
        {
            "submitQuizAttempt": {
                "__typename": "QuizAttempt",
                "score": attempt.score,
                "maxScore": attempt.max_score,
                "percentage": attempt.percentage,
                "passed": attempt.passed,
                "results": [{"correct": answer.is_correct} for answer in attempt.answers.all()],
            }
        }
    )
