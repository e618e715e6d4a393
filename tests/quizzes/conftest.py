from strawberry.relay import to_base64

from quizzes.models import Question

SINGLE, MULTIPLE, TRUE_FALSE = (
    Question.Kind.SINGLE,
    Question.Kind.MULTIPLE,
    Question.Kind.TRUE_FALSE,
)


def gid(obj) -> str:
    """The global ID of `obj`: choices are known by their random public id."""
    return to_base64(type(obj).__name__, getattr(obj, "public_id", obj.pk))


def question_page_data(question, **changes) -> dict:
    """POST data of a question's admin page as it stands (its choices inline), changed
    by `changes` (quiz, kind...)."""
    choices = list(question.choices.all())
    data = {
        "quiz": question.quiz_id, "position": str(question.position), "prompt": question.prompt,
        "kind": question.kind, "explanation": question.explanation,
        "choices-TOTAL_FORMS": str(len(choices)), "choices-INITIAL_FORMS": str(len(choices)),
        "choices-MIN_NUM_FORMS": "2", "choices-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for index, choice in enumerate(choices):
        data |= {
            f"choices-{index}-id": choice.pk, f"choices-{index}-question": question.pk,
            f"choices-{index}-position": choice.position, f"choices-{index}-text": choice.text,
        }  # fmt: skip
        if choice.is_correct:
            data[f"choices-{index}-is_correct"] = "on"
    return data | changes
