"""The peer: the part of the project's schema that workloads W1-W5 read, served by
graphene-django over the same models.

Graphene has no optimizer, so each root field applies by hand the prefetches that the
project's optimizer derives (the same ones bench/limit.py runs): same visibility, same
`only()` columns, the total of a page as a window over its rows, related terms in one
query. Names, types, global IDs and cursors are the project's, so both answer the same
JSON (the harness checks it).
"""

from functools import partial

import graphene
from django.db.models import Count, F, Prefetch, Window
from django.db.models.functions import Lower
from graphene import relay
from graphene.relay.connection import connection_adapter, page_info_adapter
from graphene_django import DjangoObjectType
from graphql_relay import connection_from_array_slice

from quizzes.models import Choice, Question, Quiz
from terms.models import Chapter, Term
from terms.search import search_terms

TERM_ORDER = (Lower("name"), "pk")
PAGE_SIZE = 100


def visible_terms(info):
    return Term.objects.visible_to(info.context.user).order_by(*TERM_ORDER)


def term_page(info, *fields, related=False):
    """A Prefetch of each chapter's first page of terms, with the total of each chapter."""
    terms = visible_terms(info).annotate(total=Window(Count("*"), partition_by=F("chapter_id")))
    if related:
        terms = terms.prefetch_related(
            Prefetch("related_terms", queryset=visible_terms(info).only("slug"))
        )
    return Prefetch("terms", queryset=terms.only(*fields, "chapter_id")[:PAGE_SIZE], to_attr="page")


def page_connection(connection_type, page, arguments, total):
    """A connection over the first rows of a list, as graphene builds one from a list."""
    return connection_from_array_slice(
        page,
        arguments,
        slice_start=0,
        array_length=total,
        connection_type=partial(connection_adapter, connection_type),
        edge_type=connection_type.Edge,
        page_info_type=page_info_adapter,
    )


class TermNode(DjangoObjectType):
    class Meta:
        model = Term
        name = "Term"
        interfaces = (relay.Node,)
        fields = (
            "slug", "name", "abbreviation", "expansion", "definition", "chapter", "updated_at",
        )  # fmt: skip

    aliases = graphene.List(graphene.NonNull(graphene.String), required=True)
    related_terms = graphene.List(graphene.NonNull(lambda: TermNode), required=True)

    def resolve_aliases(term, info):
        return term.alias_list

    def resolve_related_terms(term, info):
        return term.related_terms.all()


class TermConnection(relay.Connection):
    class Meta:
        node = TermNode

    total_count = graphene.Int()

    def resolve_total_count(connection, info):
        return connection.total


class ChapterNode(DjangoObjectType):
    class Meta:
        model = Chapter
        name = "Chapter"
        interfaces = (relay.Node,)
        fields = ("slug", "title")

    terms = relay.ConnectionField(TermConnection)

    def resolve_terms(chapter, info, **arguments):
        total = chapter.page[0].total if chapter.page else 0
        connection = page_connection(TermConnection, chapter.page, arguments, total)
        connection.total = total
        return connection


class ChapterConnection(relay.Connection):
    class Meta:
        node = ChapterNode


class SearchHit(graphene.ObjectType):
    rank = graphene.Float(required=True)
    term = graphene.Field(TermNode, required=True)


class ChoiceNode(DjangoObjectType):
    class Meta:
        model = Choice
        name = "Choice"
        interfaces = (relay.Node,)
        fields = ("text",)


QuestionKind = graphene.Enum.from_enum(Question.Kind)


class QuestionNode(DjangoObjectType):
    class Meta:
        model = Question
        name = "Question"
        interfaces = (relay.Node,)
        fields = ("position", "prompt")

    kind = graphene.Field(QuestionKind, required=True)
    choices = graphene.List(graphene.NonNull(ChoiceNode), required=True)

    def resolve_kind(question, info):
        return Question.Kind(question.kind)

    def resolve_choices(question, info):
        return question.choices.all()


class QuizNode(DjangoObjectType):
    class Meta:
        model = Quiz
        name = "Quiz"
        interfaces = (relay.Node,)
        fields = ("title",)

    questions = graphene.List(graphene.NonNull(QuestionNode), required=True)

    def resolve_questions(quiz, info):
        return quiz.questions.all()


class Query(graphene.ObjectType):
    term = graphene.Field(TermNode, slug=graphene.String(required=True))
    chapter = graphene.Field(ChapterNode, slug=graphene.String(required=True))
    chapters = relay.ConnectionField(ChapterConnection)
    search = graphene.List(
        graphene.NonNull(SearchHit),
        required=True,
        query=graphene.String(required=True),
        first=graphene.Int(default_value=20),
    )
    quiz = graphene.Field(QuizNode, slug=graphene.String(required=True))

    def resolve_term(root, info, slug):
        user = info.context.user
        return (
            visible_terms(info)
            .filter(slug=slug)
            .prefetch_related(
                Prefetch(
                    "chapter", queryset=Chapter.objects.visible_to(user).only("slug", "title")
                ),
                Prefetch("related_terms", queryset=visible_terms(info).only("slug", "name")),
            )
            .only("slug", "name", "abbreviation", "definition", "chapter_id")
            .first()
        )

    def resolve_chapter(root, info, slug):
        fields = (
            "slug", "name", "abbreviation", "expansion", "definition", "aliases", "updated_at",
        )  # fmt: skip
        return (
            Chapter.objects.visible_to(info.context.user)
            .filter(slug=slug)
            .prefetch_related(term_page(info, *fields, related=True))
            .only("title")
            .first()
        )

    def resolve_chapters(root, info, **arguments):
        # One row past the page tells whether there is a next one, without a COUNT.
        size = arguments.get("first") or PAGE_SIZE
        chapters = list(
            Chapter.objects.visible_to(info.context.user)
            .only("slug", "title")
            .prefetch_related(term_page(info, "slug", "name"))[: size + 1]
        )
        return page_connection(ChapterConnection, chapters, arguments, len(chapters))

    def resolve_search(root, info, query, first):
        hits = search_terms(query=query, user=info.context.user, limit=first)
        terms = Term.objects.filter(pk__in=[hit.term_id for hit in hits]).only("slug", "name")
        by_id = {term.pk: term for term in terms}
        return [SearchHit(rank=hit.rank, term=by_id[hit.term_id]) for hit in hits]

    def resolve_quiz(root, info, slug):
        user = info.context.user
        choices = Choice.objects.visible_to(user).order_by("position").only("question_id", "text")
        questions = (
            Question.objects.visible_to(user)
            .order_by("position")
            .only("quiz_id", "position", "prompt", "kind")
            .prefetch_related(Prefetch("choices", queryset=choices))
        )
        return (
            Quiz.objects.visible_to(user)
            .filter(slug=slug)
            .only("title")
            .prefetch_related(Prefetch("questions", queryset=questions))
            .first()
        )


schema = graphene.Schema(query=Query)
