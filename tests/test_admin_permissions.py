"""Every action of every admin page, for every role: offered exactly when permitted, and
never runnable by a crafted POST when not."""

import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from reversion.models import Version

from analytics.models import ApiToken
from analytics.tokens import api_token_create
from delivery.models import WebhookDelivery, WebhookEndpoint
from quizzes.models import Choice, Question, Quiz, QuizAttempt
from quizzes.services import AnswerInput, attempt_submit
from terms.models import AuditEntry, ChangeEvent, Chapter, PreviewKey, Term
from terms.services import content_save, content_set_status

ROLES = ["superuser", "editor", "analyst", "staff_without_group", "inactive_editor"]
# What each permission name an action declares means, as a Django permission.
MODEL_PERMISSIONS = {"add", "change", "delete", "view"}
OTHER_PERMISSIONS = {
    "analytics": "quizzes.view_quiz_analytics",
    "add_quiz": "quizzes.add_quiz",
}
WATCHED = [
    Chapter, Term, Quiz, Question, Choice, QuizAttempt, AccessAttempt, AccessLog,
    AccessFailureLog, Group, AuditEntry, PreviewKey, ApiToken,
]  # fmt: skip


@pytest.fixture
def role_user(django_user_model):
    def make(role):
        if role == "superuser":
            return django_user_model.objects.create_superuser("root", password="x")
        user = django_user_model.objects.create_user(
            role, password="x", is_staff=True, is_active=role != "inactive_editor"
        )
        group = {"editor": "Editors", "analyst": "Analysts", "inactive_editor": "Editors"}
        if role in group:
            user.groups.add(Group.objects.get(name=group[role]))
        return user

    return make


@pytest.fixture
def one_of_everything(seed_quiz, django_user_model):
    question = seed_quiz.questions.first()
    attempt_submit(
        quiz_id=seed_quiz.pk,
        answers=[AnswerInput(question.pk, [question.choices.first().pk])],
        idempotency_key="matrix",
    )
    who = {"username": "someone", "ip_address": "192.0.2.1", "user_agent": "x"}
    AccessAttempt.objects.create(**who, failures_since_start=1)
    AccessLog.objects.create(**who)
    AccessFailureLog.objects.create(**who)
    content_save(obj=Term.objects.get(slug="lora"))  # a first entry of the audit log
    owner = django_user_model.objects.create_user("token-owner", password="x", is_staff=True)
    owner.groups.add(Group.objects.get(name="Analysts"))
    api_token_create(user=owner, name="report", scopes=[ApiToken.Scope.ANALYTICS_READ])
    # The delivery log and the worker's tasks.
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/in")
    WebhookDelivery.objects.create(
        endpoint=endpoint, event=ChangeEvent.objects.last(), next_attempt_at=timezone.now()
    )
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="delivery.tasks.sweep",
        backend_name="default",
        run_after=timezone.now(),
    )


def snapshot():
    return {model._meta.label: sorted(map(repr, model.objects.values())) for model in WATCHED}


def holds(model_admin, request, name: str) -> bool:
    """Whether the request's user holds the permission an action names: the page's own
    rule for the model's permissions (attempts are never deleted, whoever asks), the
    Django permission for the others."""
    if name in MODEL_PERMISSIONS:
        return getattr(model_admin, f"has_{name}_permission")(request)
    return request.user.has_perm(OTHER_PERMISSIONS[name])


def every_action():
    for model, model_admin in admin.site._registry.items():
        for action, name, _description in model_admin._get_base_actions():
            yield model, model_admin, action, name


def test_every_action_declares_its_permissions():
    """No action is left to the default of "anyone who sees the list"."""
    undeclared = [
        f"{model._meta.label}: {name}"
        for model, _admin, action, name in every_action()
        if not getattr(action, "allowed_permissions", ())
    ]
    assert undeclared == []


@pytest.mark.parametrize("role", ROLES)
def test_actions_are_offered_and_run_only_with_their_permissions(
    one_of_everything, client, role_user, role
):
    """Offered iff every declared permission is held; a crafted POST of an action that is
    not offered changes nothing and downloads nothing."""
    user = role_user(role)
    client.force_login(user)
    request = RequestFactory().get("/")
    request.user = user
    can_use_admin = user.is_active and user.is_staff
    for model, model_admin, action, name in every_action():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        permitted = (
            can_use_admin
            and model_admin.has_view_or_change_permission(request)
            and all(holds(model_admin, request, p) for p in action.allowed_permissions)
        )
        response = client.get(url)
        offered = (
            response.status_code == 200
            and response.context_data.get("action_form") is not None
            and name in dict(response.context_data["action_form"].fields["action"].choices)
        )
        assert offered == permitted, (role, opts.label, name)
        if permitted:
            continue
        target = model._default_manager.first()
        assert target is not None, f"no {opts.label} to act on"
        before = snapshot()
        response = client.post(
            url, {"action": name, "_selected_action": [target.pk], "index": 0, "post": "yes"}
        )
        assert response.status_code in {200, 302, 403}, (role, opts.label, name)
        assert "attachment" not in response.get("Content-Disposition", ""), (role, name)
        assert snapshot() == before, (role, opts.label, name)


STATUS_ACTIONS = {"make_published", "make_draft", "make_archived"}
OFFERED = {
    "editor": {
        "terms.Chapter": {*STATUS_ACTIONS, "generate_quiz", "delete_selected"},
        "terms.Term": {*STATUS_ACTIONS, "export_terms", "delete_selected"},
        "quizzes.Quiz": {*STATUS_ACTIONS, "delete_selected"},
        "quizzes.Question": {"delete_selected"},
    },
    "analyst": {
        "quizzes.Quiz": {"export_attempts"},
        "terms.Term": {"export_terms"},
        "analytics.ApiToken": {"revoke_tokens"},
    },
    "staff_without_group": {},
}


@pytest.mark.parametrize("role", OFFERED)
def test_what_each_role_is_offered(one_of_everything, client, role_user, role):
    """Editors change content, analysts export, nobody else acts; spelled out per role."""
    client.force_login(role_user(role))
    offered = {}
    for model, _model_admin, _action, _name in every_action():
        opts = model._meta
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        form = response.context_data.get("action_form") if response.status_code == 200 else None
        names = {name for name, _label in form.fields["action"].choices if name} if form else set()
        if names:
            offered[opts.label] = names
    assert offered == OFFERED[role]


@pytest.mark.parametrize(
    ("role", "filters"), [("editor", False), ("staff_without_group", False), ("analyst", True)]
)
def test_only_analysts_filter_and_sort_by_miss_rate(
    one_of_everything, client, role_user, role, filters
):
    """The miss rate is not there to filter on, even from the query string, without the
    analytics permission."""
    client.force_login(role_user(role))
    url = reverse("admin:terms_term_changelist")
    response = client.get(url, {"miss_rate__gte": "0"})
    if not filters:
        assert response.status_code in {302, 403}
        if response.status_code == 302:
            assert response["Location"].endswith("?e=1")
        return
    assert response.status_code == 200
    listed = {term.slug for term in response.context_data["cl"].result_list}
    assert listed == set(
        Term.objects.filter(questions__answers__isnull=False).values_list("slug", flat=True)
    )
    columns = [
        getattr(column, "__name__", column) for column in response.context_data["cl"].list_display
    ]
    assert "miss_rate_column" in columns


@pytest.mark.parametrize("selected", ["abc", "1.5", ""])
def test_a_crafted_selection_is_an_error_message(one_of_everything, editor_client, selected):
    """Row ids that cannot exist are refused with a message, and nothing changes."""
    before = snapshot()
    response = editor_client.post(
        reverse("admin:quizzes_quiz_changelist"),
        {"action": "make_published", "_selected_action": [selected], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    assert "The selection is not of this list." in [str(m) for m in response.context["messages"]]
    assert snapshot() == before


# The admin pages of the editorial safety net, per role: history (view), restore and
# preview (change), revoking one's own preview links (any active staff member).
SAFETY_NET = {
    "superuser": {
        "terms.Chapter": {"history", "restore", "preview"},
        "terms.Term": {"history", "restore", "preview"},
        "quizzes.Quiz": {"history", "restore", "preview"},
        "revoke": True,
    },
    "editor": {
        "terms.Chapter": {"history", "restore", "preview"},
        "terms.Term": {"history", "restore", "preview"},
        "quizzes.Quiz": {"history", "restore", "preview"},
        "revoke": True,
    },
    "analyst": {
        "terms.Chapter": {"history"},
        "terms.Term": {"history"},
        "quizzes.Quiz": {"history"},
        "revoke": True,
    },
    "staff_without_group": {"terms.Chapter": set(), "terms.Term": set(), "quizzes.Quiz": set(),
                            "revoke": True},
    "inactive_editor": {"terms.Chapter": set(), "terms.Term": set(), "quizzes.Quiz": set(),
                        "revoke": False},
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_history_restore_preview_and_revoke_follow_permissions(
    one_of_everything, client, role_user, role
):
    """Each page answers only with its permission; a refused restore changes nothing."""
    user = role_user(role)
    client.force_login(user)
    allowed = SAFETY_NET[role]
    for model in (Chapter, Term, Quiz):
        target = model.objects.order_by("pk").first()
        content_set_status(queryset=model.objects.filter(pk=target.pk), status="archived")
        content_set_status(queryset=model.objects.filter(pk=target.pk), status="published")
        older = Version.objects.get_for_object(target)[1]
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        got = set()
        if client.get(reverse(f"{name}_history", args=[target.pk])).status_code == 200:
            got.add("history")
        preview = client.get(reverse(f"{name}_preview", args=[target.pk]))
        if preview.status_code == 302 and preview["Location"].startswith("http://localhost:3000"):
            got.add("preview")
        before = snapshot()
        restore = client.post(
            reverse(f"{name}_restore", args=[target.pk, older.pk]),
            {"based_on": Version.objects.get_for_object(target)[0].pk},
        )
        if restore.status_code == 302 and "/history/" in restore["Location"]:
            target.refresh_from_db()
            if target.status == "archived":
                got.add("restore")
        else:
            assert snapshot() == before, (role, opts.label)
        assert got == allowed[opts.label], (role, opts.label)

    revoke = client.post(reverse("admin:terms_term_revoke_previews"), {"next": "/admin/"})
    assert (revoke.status_code == 302 and revoke["Location"] == "/admin/") == allowed["revoke"]
    assert PreviewKey.objects.filter(user=user, generation=1).exists() == allowed["revoke"]


# Personal API tokens: created (and revoked) by those who may read analytics.
API_TOKENS = {"superuser": True, "editor": False, "analyst": True,
              "staff_without_group": False, "inactive_editor": False}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_api_tokens_are_created_only_with_the_analytics_permission(
    one_of_everything, client, role_user, role
):
    """The add page answers and creates a token of one's own only for analysts (and
    superusers); for anyone else it is closed and creates nothing."""
    user = role_user(role)
    client.force_login(user)
    add = reverse("admin:analytics_apitoken_add")
    response = client.post(
        add,
        {
            "name": "script",
            "scopes": [ApiToken.Scope.ANALYTICS_READ],
            "expires_at_0": (timezone.now() + datetime.timedelta(days=30)).strftime("%Y-%m-%d"),
            "expires_at_1": "00:00:00",
        },
    )
    created = ApiToken.objects.filter(user=user, name="script").exists()
    assert created == API_TOKENS[role], role
    if not API_TOKENS[role]:
        assert response.status_code in {302, 403}
        assert client.get(add).status_code in {302, 403}
