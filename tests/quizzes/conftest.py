from strawberry.relay import to_base64

from quizzes.models import Question

SINGLE, MULTIPLE, TRUE_FALSE = (
    Question.Kind.SINGLE,
    Question.Kind.MULTIPLE,
    Question.Kind.TRUE_FALSE,
)


def gid(obj) -> str:
    return to_base64(type(obj).__name__, obj.pk)
