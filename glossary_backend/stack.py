"""Room on CPython's frame stack for each request.

CPython (3.11, 3.12, and 3.13 before its fix of gh-142183) keeps the frames of running
Python functions in chunks of 16 KiB, and frees a chunk as soon as the frame at its start
returns. Code that calls back and forth across the end of a chunk maps and unmaps a
chunk on every crossing. Where a request's frames fall depends on everything above them
(the server, the middleware), so which pages pay is chance: under gunicorn a chapter page
(W2 in docs/performance.md) made 900 mmap/munmap pairs per request and took 29 ms
against 21 ms in-process.

`StackRoomMiddleware` runs the rest of the request from a frame too large for what is
left of any ordinary chunk (64 KiB of local slots, which the function never uses):
CPython gives it a chunk of its own (128 KiB) that lives as long as the request, and the
frames below it have about 62 KiB, several times a request's deepest stack, before the
next chunk's end. One chunk per request is mapped instead of hundreds.
"""

# Local slots of the frame that makes the room: 8 bytes each.
ROOM_SLOTS = 8192


def _room_function():
    # Names assigned after the return are locals of the function (its frame has a slot
    # for each) but are never assigned: the frame is large and costs nothing to fill.
    unused = " = ".join(f"_{index}" for index in range(ROOM_SLOTS))
    source = (
        "def with_stack_room(call, /, *args, **kwargs):\n"
        "    return call(*args, **kwargs)\n"
        f"    {unused} = None\n"
    )
    namespace: dict = {}
    exec(compile(source, __file__, "exec"), namespace)
    return namespace["with_stack_room"]


with_stack_room = _room_function()
with_stack_room.__doc__ = "`call(*args, **kwargs)`, from a frame that starts its own chunk."


class StackRoomMiddleware:
    """The first middleware: every request runs below a frame with room (see above)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return with_stack_room(self.get_response, request)
