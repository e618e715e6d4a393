"""Dependencies point one way: terms <- quizzes <- analytics; the root composes them."""

import ast
import re

import pytest
from django.conf import settings

APPS = ["terms", "quizzes", "analytics", "delivery"]
# What each app may import of the others (an app may always import itself).
ALLOWED = {
    "terms": set(),
    "quizzes": {"terms"},
    "analytics": {"terms", "quizzes"},
    # The change delivery relays the outbox that terms' services write.
    "delivery": {"terms"},
}
# The composition root imports every app; no app may import it back.
ROOT_MODULES = {"glossary_backend.schema", "glossary_backend.urls"}
MODULE_PATH = re.compile(r"^(terms|quizzes|analytics|delivery|glossary_backend)(\.[a-z_]+)*$")


def imported_modules(path) -> set[str]:
    """Modules `path` imports, including modules named in strings (strawberry.lazy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "." in node.value
            and MODULE_PATH.match(node.value)
        ):
            found.add(node.value)
    return found


@pytest.mark.parametrize("app", APPS)
def test_apps_import_only_upstream(app):
    """No import, lazy or not, against the direction of the dependencies."""
    offences = []
    for path in sorted((settings.BASE_DIR / app).rglob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in APPS and top != app and top not in ALLOWED[app]:
                offences.append(f"{path.relative_to(settings.BASE_DIR)} imports {module}")
            if any(module == root or module.startswith(root + ".") for root in ROOT_MODULES):
                offences.append(f"{path.relative_to(settings.BASE_DIR)} imports {module}")
    assert offences == []


def test_the_check_sees_imports():
    """The parser finds plain, from- and lazy imports (else the test above proves nothing)."""
    source = settings.BASE_DIR / "analytics" / "graphql" / "types.py"
    assert {"quizzes.graphql.types", "terms.models"} <= imported_modules(source)
    assert "glossary_backend.schema" in imported_modules(
        settings.BASE_DIR / "glossary_backend" / "urls.py"
    )


def test_admin_classes_stay_their_apps():
    """Other apps extend the terms and quizzes admin; they do not replace its classes."""
    from django.contrib import admin

    from quizzes.admin import QuizAdmin
    from quizzes.models import Quiz
    from terms.admin import ChapterAdmin, TermAdmin
    from terms.models import Chapter, Term

    assert type(admin.site.get_model_admin(Chapter)) is ChapterAdmin
    assert type(admin.site.get_model_admin(Term)) is TermAdmin
    assert type(admin.site.get_model_admin(Quiz)) is QuizAdmin
    assert [type(e).__name__ for e in ChapterAdmin.extensions] == ["DraftQuizzes"]
    assert [type(e).__name__ for e in TermAdmin.extensions] == ["TermMissRate"]
    assert [type(e).__name__ for e in QuizAdmin.extensions] == ["QuizDashboard"]


def test_contributed_fields_are_composed_into_the_owners_types():
    """The root composes other apps' fields into Chapter and Term, in the published order,
    and refuses a field twice or a contribution for another model."""
    from django.core.exceptions import ImproperlyConfigured

    from analytics.graphql.types import TermAnalyticsFields
    from glossary_backend.graphql import extend_type
    from glossary_backend.schema import schema
    from quizzes.graphql.types import ChapterQuizFields
    from terms.graphql.types import ChapterType, TermType

    types = schema._schema.type_map
    assert list(types["Chapter"].fields) == [
        "id", "slug", "title", "description", "position", "updatedAt", "publishedAt",
        "terms", "quizzes", "termCount", "letters", "jsonLd", "mostMissedTerms",
    ]  # fmt: skip
    fields = list(types["Term"].fields)
    assert fields[fields.index("publishedAt") :][:3] == ["publishedAt", "missRate", "aliases"]
    with pytest.raises(ImproperlyConfigured, match="already has"):
        extend_type(TermType, TermAnalyticsFields)
    with pytest.raises(ImproperlyConfigured, match="does not describe Term"):
        extend_type(TermType, ChapterQuizFields)
    assert ChapterType.__strawberry_definition__.get_field("quizzes") is not None
