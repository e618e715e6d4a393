"""Room on CPython's frame stack (glossary_backend.stack): below the room frame, code
that calls back and forth at any depth a request reaches maps no frame-stack chunk per
call; every request runs below it."""

import resource
import sys

import pytest
from django.conf import settings

from glossary_backend import stack

DEPTHS = range(1, 240, 3)  # about 240 small frames: more than a 16 KiB chunk holds


def leaf():
    return None


def descend(levels):
    if levels == 0:
        return leaf()
    return descend(levels - 1)


def page_faults_per_call(depth, calls=40) -> float:
    """Page faults per call of a stack `depth` frames deep: a call whose frames cross
    the end of a chunk maps a fresh chunk and touches its pages each time."""
    descend(depth)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        descend(depth)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def worst_depth() -> tuple[float, int]:
    return max((page_faults_per_call(depth), depth) for depth in DEPTHS)


def test_below_the_room_frame_no_depth_maps_a_chunk_per_call():
    faults, depth = stack.with_stack_room(worst_depth)
    assert faults < 0.5, f"{faults} page faults per call at depth {depth}"


@pytest.mark.skipif(
    sys.version_info >= (3, 13), reason="CPython 3.13's fix of gh-142183 keeps a spare chunk"
)
def test_without_it_some_depth_does():
    """The check above would see the thrashing: here, from the test's own depth, one
    of the depths crosses a chunk's end on every call."""
    faults, _ = worst_depth()
    assert faults >= 1


def test_the_room_frame_passes_calls_through():
    assert stack.with_stack_room(dict, [("a", 1)], b=2) == {"a": 1, "b": 2}
    with pytest.raises(ZeroDivisionError):
        stack.with_stack_room(lambda: 1 / 0)


def test_every_request_runs_below_it(client, monkeypatch):
    assert settings.MIDDLEWARE[0] == "glossary_backend.stack.StackRoomMiddleware"
    calls = []
    room = stack.with_stack_room

    def recording(call, *args, **kwargs):
        calls.append(call)
        return room(call, *args, **kwargs)

    monkeypatch.setattr(stack, "with_stack_room", recording)
    assert client.get("/graphql", {"query": "{ __typename }"}).status_code == 200
    assert len(calls) == 1
