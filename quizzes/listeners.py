"""How other apps hear of attempts being stored or deleted: the quizzes app's one outward hook.

Listeners are called inside the transaction that writes the attempts: after they are
stored, and before they are deleted (while their rows can still be read), so whatever
a listener derives from them commits or rolls back with them. An explicit registry
rather than a Django signal: the listeners are few and known, they run in registration
order, an error in one aborts the write, bulk writes arrive as one call with every id
(post_delete would fire once per row, after the row is gone), and the contract is typed.
"""

from collections.abc import Callable, Sequence
from enum import StrEnum


class AttemptChange(StrEnum):
    STORED = "stored"
    DELETING = "deleting"


AttemptListener = Callable[[Sequence[int], AttemptChange], None]

_listeners: list[AttemptListener] = []


def attempt_listener_register(listener: AttemptListener) -> None:
    """Call `listener(attempt_ids, change)` for every later write of attempts (once per
    listener, however often it is registered)."""
    if listener not in _listeners:
        _listeners.append(listener)


def attempts_changed(attempt_ids: Sequence[int], change: AttemptChange) -> None:
    """Tell the listeners; call it inside the transaction of the write."""
    if not attempt_ids:
        return
    for listener in _listeners:
        listener(attempt_ids, change)
