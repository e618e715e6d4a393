"""The `changes` sync feed: ordered, paged by cursor, public changes only, expired cursors."""

import pytest
from django.utils import timezone
from strawberry import relay

from terms import outbox
from terms.models import ChangeEvent, Status, Term
from terms.services import content_delete, content_save, content_set_status

CHANGES = """
query Changes($after: String, $first: Int) {
  changes(after: $after, first: $first) {
    edges { cursor node { kind typename nodeId slug } }
    pageInfo { hasNextPage endCursor }
    latestCursor
  }
}
"""


@pytest.fixture
def history(make_chapter, make_term):
    """A term published, edited, unpublished and another deleted; a draft edited."""
    chapter = make_chapter("basics")
    lora = make_term(chapter, "LoRA", status=Status.DRAFT)
    gone = make_term(chapter, "Gone")
    draft = make_term(chapter, "Secret draft", status=Status.DRAFT)
    ChangeEvent.objects.all().delete()
    content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.PUBLISHED)
    lora.refresh_from_db()
    content_save(obj=lora)
    content_save(obj=draft)
    content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.DRAFT)
    content_delete(queryset=Term.objects.filter(pk=gone.pk))
    return lora, gone


def node(kind, term, slug):
    global_id = relay.to_base64("Term", term.pk)
    return {"kind": kind, "typename": "Term", "nodeId": global_id, "slug": slug}


def test_feed_in_order_and_paged(graphql, history, django_assert_num_queries):
    """Oldest first; the end cursor of a page gives the next; drafts never appear."""
    lora, gone = history
    with django_assert_num_queries(2):
        first = graphql(CHANGES, {"first": 2})["data"]["changes"]
    assert [edge["node"] for edge in first["edges"]] == [
        node("CREATED", lora, "lora"),
        node("UPDATED", lora, "lora"),
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    with django_assert_num_queries(3):
        rest = graphql(CHANGES, {"first": 10, "after": first["pageInfo"]["endCursor"]})
    rest = rest["data"]["changes"]
    assert [edge["node"] for edge in rest["edges"]] == [
        node("UNPUBLISHED", lora, "lora"),
        node("DELETED", gone, "gone"),
    ]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["edges"][-1]["cursor"]}
    assert rest["latestCursor"] == rest["edges"][-1]["cursor"]
    after_last = graphql(CHANGES, {"after": rest["latestCursor"]})["data"]["changes"]
    assert after_last["edges"] == []


def test_staff_see_the_same_feed(staff_client, graphql, history):
    """The feed is of public changes: a draft's edits are not in it for staff either."""
    slugs = {e["node"]["slug"] for e in graphql(CHANGES)["data"]["changes"]["edges"]}
    assert slugs == {"lora", "gone"}


def test_expired_cursor_is_a_clear_error(graphql, history):
    """A cursor from before the compacted events: CURSOR_EXPIRED, the client resyncs."""
    old = graphql(CHANGES, {"first": 1})["data"]["changes"]["pageInfo"]["endCursor"]
    ChangeEvent.objects.update(dispatched_at=timezone.now())
    outbox.change_events_compact(before=timezone.now())
    result = graphql(CHANGES, {"after": old}, expect_errors=True)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "CURSOR_EXPIRED"


@pytest.mark.parametrize(
    "cursor", ["nonsense", relay.to_base64("arrayconnection", 1), relay.to_base64("change", "01")]
)
def test_bad_cursor_is_a_clear_error(graphql, db, cursor):
    """A cursor that is not one of the feed's: BAD_USER_INPUT naming `after`."""
    result = graphql(CHANGES, {"after": cursor}, expect_errors=True)
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


def test_page_size_is_bounded(graphql, db):
    """`first` above the maximum is refused before anything runs."""
    result = graphql(CHANGES, {"first": 101}, expect_errors=True)
    assert result["errors"][0]["extensions"]["argument"] == "first"
