"""The relay: exact CDN purges, Standard Webhooks with retries, 410, replay, SSRF, workers."""

import datetime
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from delivery import purge, targets
from delivery.models import DeliveryAttempt, DeliveryState, WebhookDelivery, WebhookEndpoint
from delivery.tasks import delivery_attempt, events_dispatch, sweep
from terms.models import ChangeEvent, Chapter, Status, Term
from terms.services import content_delete, content_save, content_set_status

PURGED: list[list[str]] = []


class RecordingPurger:
    """A CDN that remembers what it was asked to purge."""

    def purge(self, keys):
        PURGED.append(keys)


@pytest.fixture
def purged(settings):
    settings.CDN_PURGER = "tests.delivery.test_delivery.RecordingPurger"
    PURGED.clear()
    return PURGED


class Receiver:
    """A local webhook receiver that is down (503) for its first `down` requests."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append((headers, body.decode()))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    made = []

    def make(answers=()):
        made.append(Receiver(answers))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.fixture
def site(make_chapter, make_term):
    """A chapter with LoRA (a draft) and Adapter, whose definition links to LoRA."""
    chapter = make_chapter("basics")
    lora = make_term(chapter, "LoRA", status=Status.DRAFT)
    adapter = make_term(chapter, "Adapter", definition="Like LoRA, but smaller.")
    other = make_term(chapter, "Unrelated")
    ChangeEvent.objects.all().delete()
    return chapter, lora, adapter, other


def test_publishing_purges_exactly_its_keys(site, purged):
    """Publishing a term purges its key, its chapter's, the lists' and its linkers' keys,
    once; nothing else (never everything)."""
    chapter, lora, adapter, _ = site
    content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.PUBLISHED)
    assert events_dispatch() == 1
    assert purged == [
        sorted(["chapters", "terms", f"chapter:{chapter.pk}", f"term:{lora.pk}",
                f"term:{adapter.pk}"])
    ]  # fmt: skip
    assert events_dispatch() == 0  # dispatched once
    assert purged[1:] == []


def test_purge_per_change_kind(site, purged):
    """An edit purges the term, its chapter, the terms list and its linkers; a chapter's
    edit its own key and the chapters list; a draft's edit nothing."""
    chapter, lora, adapter, other = site
    content_save(obj=adapter)
    content_save(obj=lora)
    content_save(obj=Chapter.objects.get(pk=chapter.pk))
    events_dispatch()
    assert purged == [sorted(["terms", f"chapter:{chapter.pk}", f"term:{adapter.pk}", "chapters"])]
    purged.clear()
    content_delete(queryset=Term.objects.filter(pk=other.pk))
    events_dispatch()
    assert purged == [sorted(["chapters", "terms", f"chapter:{chapter.pk}", f"term:{other.pk}"])]


def test_failed_purge_keeps_the_events(site, settings, monkeypatch):
    """A CDN that refuses leaves the events in the outbox; the next run purges them."""
    settings.CDN_PURGER = "http"
    settings.CDN_PURGE_URL = "https://cdn.example.com/purge"
    answers = [503, 200]
    sent = []

    def fake_send(request):
        sent.append((request.full_url, dict(request.header_items()), request.data))
        return answers.pop(0)

    monkeypatch.setattr(purge, "send", fake_send)
    content_save(obj=site[2])
    assert events_dispatch() == 0
    assert ChangeEvent.objects.filter(dispatched_at__isnull=True).count() == 1
    assert events_dispatch() == 1
    _, headers, body = sent[-1]
    assert headers["Surrogate-key"] == " ".join(json.loads(body)["surrogate_keys"])


@pytest.mark.parametrize(
    ("name", "url", "field"),
    [
        ("fastly", "https://api.fastly.com/service/svc/purge", "surrogate_keys"),
        ("cloudflare", "https://api.cloudflare.com/client/v4/zones/zone/purge_cache", "tags"),
    ],
)
def test_cdn_purgers_speak_their_apis(settings, monkeypatch, name, url, field):
    """Fastly and Cloudflare purge by key in batches, with their credentials."""
    settings.CDN_PURGER = name
    settings.FASTLY_SERVICE_ID, settings.FASTLY_API_TOKEN = "svc", "fastly-token"
    settings.CLOUDFLARE_ZONE_ID, settings.CLOUDFLARE_API_TOKEN = "zone", "cf-token"
    sent = []
    monkeypatch.setattr(purge, "send", lambda request: sent.append(request) or 200)
    keys = [f"term:{n}" for n in range(300)]
    purge.keys_purge(keys)
    assert {request.full_url for request in sent} == {url}
    assert sum(len(json.loads(r.data)[field]) for r in sent) == 300
    assert len(sent) == (2 if name == "fastly" else 10)


def test_receiver_down_then_back_gets_each_event_once_by_id(site, receiver):
    """Deliveries retry with backoff while the receiver is down; once it is back each
    event arrives, signed (verified by the standardwebhooks package), with the same id
    on every try: de-duplicated by id, nothing is delivered twice."""
    _, lora, adapter, _ = site
    hook = receiver(answers=[503, 500, 503])
    endpoint = WebhookEndpoint.objects.create(url=hook.url)
    content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.PUBLISHED)
    content_save(obj=adapter)
    events_dispatch()
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert len(deliveries) == 2
    now = timezone.now()
    for _ in range(6):
        for delivery in deliveries:
            delivery.refresh_from_db()
            delivery_attempt(delivery.pk, now=max(now, delivery.next_attempt_at))
        now += datetime.timedelta(hours=1)
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}
    assert len(hook.requests) == 5  # three refused, two accepted
    verifier = Webhook(endpoint.secret)
    received = {}
    for headers, body in hook.requests:
        message = verifier.verify(body, headers)
        received[headers["webhook-id"]] = message
    assert sorted(m["type"] for m in received.values()) == ["term.created", "term.updated"]
    created = next(m for m in received.values() if m["type"] == "term.created")
    assert created["data"] == {
        "kind": "CREATED",
        "typename": "Term",
        "id": __import__("strawberry").relay.to_base64("Term", lora.pk),
        "slug": "lora",
        "surrogateKeys": ChangeEvent.objects.get(kind="created").surrogate_keys,
    }
    attempts = DeliveryAttempt.objects.order_by("pk")
    assert [a.status_code for a in attempts][:3] == [503, 500, 503]


def test_retries_back_off_with_jitter_and_give_up_after_a_day(site, receiver):
    """Each failure waits longer (capped), and a day after the event the delivery fails."""
    hook = receiver(answers=[500] * 100)
    WebhookEndpoint.objects.create(url=hook.url)
    content_save(obj=site[2])
    events_dispatch()
    delivery = WebhookDelivery.objects.get()
    now, waits = timezone.now(), []
    while delivery.state == DeliveryState.PENDING:
        delivery_attempt(delivery.pk, now=now)
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at
    assert delivery.state == DeliveryState.FAILED
    assert 15 <= waits[0] <= 30
    assert waits[5] > waits[0] * 8
    assert max(waits[:-1]) <= 3600
    assert now - delivery.created_at >= datetime.timedelta(hours=24)


def test_rotation_signs_with_both_secrets(site, receiver):
    """During a rotation a receiver holding either secret verifies the message."""
    hook = receiver()
    old = WebhookEndpoint.objects.create(url=hook.url)
    old_secret = old.secret
    endpoint = WebhookEndpoint.objects.get()
    endpoint.previous_secret, endpoint.secret = old_secret, WebhookEndpoint().secret
    endpoint.previous_secret_until = timezone.now() + datetime.timedelta(days=1)
    endpoint.save()
    content_save(obj=site[2])
    events_dispatch()
    delivery_attempt(WebhookDelivery.objects.get().pk)
    headers, body = hook.requests[0]
    Webhook(old_secret).verify(body, headers)
    Webhook(endpoint.secret).verify(body, headers)
    assert len(headers["webhook-signature"].split(" ")) == 2


def test_rotate_secret_in_the_admin(site, receiver, admin_client, settings):
    """ "Rotate secret": a new secret signs from now on, the previous one beside it for
    WEBHOOK_SECRET_GRACE_HOURS, then alone the new one."""
    hook = receiver()
    endpoint = WebhookEndpoint.objects.create(url=hook.url)
    old_secret = endpoint.secret
    response = admin_client.post(
        reverse("admin:delivery_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    assert "1 endpoint has a new secret" in str(next(iter(response.context["messages"])))
    endpoint.refresh_from_db()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret != old_secret
    assert endpoint.previous_secret == old_secret
    grace = endpoint.previous_secret_until - timezone.now()
    assert datetime.timedelta(hours=23, minutes=59) < grace <= datetime.timedelta(hours=24)
    content_save(obj=site[2])
    events_dispatch()
    delivery_attempt(WebhookDelivery.objects.get().pk)
    headers, body = hook.requests[0]
    Webhook(old_secret).verify(body, headers)
    Webhook(endpoint.secret).verify(body, headers)
    WebhookEndpoint.objects.update(previous_secret_until=timezone.now())
    content_save(obj=site[3])
    events_dispatch()
    delivery_attempt(WebhookDelivery.objects.latest("pk").pk)
    headers, body = hook.requests[1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    Webhook(endpoint.secret).verify(body, headers)


def test_410_disables_the_endpoint(site, receiver):
    """A receiver answering 410 Gone is disabled; nothing more is sent to it."""
    hook = receiver(answers=[410])
    endpoint = WebhookEndpoint.objects.create(url=hook.url)
    content_save(obj=site[2])
    events_dispatch()
    delivery_attempt(WebhookDelivery.objects.get().pk)
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "410" in endpoint.disabled_reason
    content_save(obj=site[3])
    events_dispatch()
    assert WebhookDelivery.objects.count() == 1
    assert WebhookDelivery.objects.get().state == DeliveryState.DISABLED


def test_admin_shows_the_log_and_replays(site, receiver, admin_client):
    """The delivery log lists attempts with their codes; "replay" sends the same
    message again."""
    hook = receiver()
    WebhookEndpoint.objects.create(url=hook.url)
    content_save(obj=site[2])
    events_dispatch()
    delivery = WebhookDelivery.objects.get()
    delivery_attempt(delivery.pk)
    page = admin_client.get(reverse("admin:delivery_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert b"200" in page.content
    response = admin_client.post(
        reverse("admin:delivery_webhookdelivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    delivery_attempt(delivery.pk)
    assert [h["webhook-id"] for h, _ in hook.requests] == [f"evt_{delivery.event_id}"] * 2


def test_private_targets_are_refused(db, settings):
    """Loopback, private and metadata addresses are refused when saved, by the command,
    and again before sending, unless WEBHOOK_ALLOW_PRIVATE_TARGETS."""
    for url in ["http://127.0.0.1/hook", "http://10.0.0.5/", "http://169.254.169.254/", "ftp://x/"]:
        with pytest.raises(ValidationError):
            WebhookEndpoint(url=url).full_clean()
    with pytest.raises(CommandError, match="private or loopback"):
        call_command("webhooks", "add", "http://localhost:9/hook")
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    WebhookEndpoint(url="http://127.0.0.1/hook").full_clean()


def test_refused_at_send_time(site, settings):
    """An endpoint that now resolves to a private address gets no request."""
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook")
    content_save(obj=site[2])
    events_dispatch()
    assert delivery_attempt(WebhookDelivery.objects.get().pk) == DeliveryState.PENDING
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert "private or loopback" in attempt.error
    assert endpoint.pk


def test_the_request_goes_to_the_address_that_was_checked(site, settings, monkeypatch):
    """No DNS rebinding: the name is resolved once, and the request connects to the
    address checked (with the URL's Host), not to what a second look-up would answer."""
    checked = Receiver([])  # on 127.0.0.1; the check takes 127.0.0.2 for public below
    checked.server.server_close()
    checked.server.shutdown()
    good = ThreadingHTTPServer(("127.0.0.2", 0), checked.server.RequestHandlerClass)
    threading.Thread(target=good.serve_forever, daemon=True).start()
    port = good.server_port
    trap = Receiver([])
    trap.server.server_close()
    trap.server.shutdown()
    try:
        trap.server = ThreadingHTTPServer(("127.0.0.1", port), trap.server.RequestHandlerClass)
        threading.Thread(target=trap.server.serve_forever, daemon=True).start()
    except OSError:
        trap.server = None  # the port is taken on 127.0.0.1: a rebound request fails
    answers = ["127.0.0.2", "127.0.0.1", "127.0.0.1"]
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def rebinding_dns(host, port, *args, **kwargs):
        if host != "hooks.example.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers.pop(0), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    monkeypatch.setattr(targets, "_refused", lambda address: str(address) != "127.0.0.2")
    try:
        WebhookEndpoint.objects.create(url=f"http://hooks.example.test:{port}/hook")
        content_save(obj=site[2])
        events_dispatch()
        lookups.clear()
        assert delivery_attempt(WebhookDelivery.objects.get().pk) == DeliveryState.DELIVERED
        assert lookups == ["hooks.example.test"]
        ((headers, _),) = checked.requests
        assert headers["host"] == f"hooks.example.test:{port}"
        assert trap.requests == []
    finally:
        good.shutdown()
        good.server_close()
        if trap.server is not None:
            trap.server.shutdown()
            trap.server.server_close()


def test_pinned_https_keeps_the_host_for_sni():
    """Over HTTPS the pinned connection still names the URL's host for SNI and the
    certificate check; only the socket goes to the checked address."""
    connection = targets._PinnedHTTPSConnection("hooks.example.test", pinned_address="192.0.2.1")
    assert (connection.host, connection.pinned_address) == ("hooks.example.test", "192.0.2.1")
    assert connection._context.check_hostname


def test_webhooks_add_prints_the_secret(db, settings, capsys):
    """`webhooks add URL --events ...` makes an endpoint and prints its whsec_ secret."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    call_command("webhooks", "add", "http://127.0.0.1:9/hook", "--events", "term.created")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["term.created"]
    assert f"Secret (verify signatures with it): {endpoint.secret}" in capsys.readouterr().out
    assert endpoint.secret.startswith("whsec_")
    with pytest.raises(CommandError, match="Unknown event types"):
        call_command("webhooks", "add", "http://127.0.0.1:9/hook", "--events", "term.eaten")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _publish_and_wake(lora):
    content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.PUBLISHED)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_on_the_database_backend(site, receiver, settings):
    """The database backend: the commit queues the relay, `db_worker` runs it and the
    delivery it queues; the receiver gets the event."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    hook = receiver()
    WebhookEndpoint.objects.create(url=hook.url)
    _publish_and_wake(site[1])
    call_command("db_worker", batch=True, no_startup_delay=True, interval=0.1)
    call_command("db_worker", batch=True, no_startup_delay=True, interval=0.1)
    assert [json.loads(body)["type"] for _, body in hook.requests] == ["term.created"]
    assert WebhookDelivery.objects.get().state == DeliveryState.DELIVERED


@pytest.fixture
def redis_url(settings):
    """The Redis of REDIS_URL (CI starts one), else a throwaway redis-server."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
        yield settings.REDIS_URL
        return
    except RedisDown:
        if not shutil.which("redis-server"):
            pytest.skip("needs Redis: REDIS_URL or Debian's redis-server")
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(50):
            try:
                Redis.from_url(url).ping()
                break
            except RedisDown:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_on_rq(site, receiver, settings, redis_url):
    """The RQ backend on a real Redis: the same tasks, run by an RQ worker."""
    from django_tasks_rq import Job
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(redis_url)
    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    queue = Queue("default", connection=connection, job_class=Job)
    queue.empty()
    hook = receiver()
    WebhookEndpoint.objects.create(url=hook.url)
    _publish_and_wake(site[1])
    for _ in range(2):
        SimpleWorker([queue], connection=connection, job_class=Job).work(burst=True)
    assert [json.loads(body)["type"] for _, body in hook.requests] == ["term.created"]
    assert WebhookDelivery.objects.get().state == DeliveryState.DELIVERED


def test_delivery_clock_queues_a_sweep(db, settings):
    """`delivery_clock --once` queues the sweep on the configured backend."""
    from django_tasks_db.models import DBTaskResult

    call_command("delivery_clock", "--once")
    assert DBTaskResult.objects.get().task_path == "delivery.tasks.sweep"
    assert urllib.request  # the module's send path is stdlib only


def test_delivery_clock_does_not_pile_up_sweeps(db):
    """With no worker running, the clock queues no second sweep while the first waits;
    once it has started (or is gone), the next tick queues a new one."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    for _ in range(3):
        call_command("delivery_clock", "--once")
    assert DBTaskResult.objects.count() == 1
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING)
    call_command("delivery_clock", "--once")
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
    DBTaskResult.objects.all().delete()
    call_command("delivery_clock", "--once")
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1


def test_sweep_purges_a_scheduled_go_live(site, purged):
    """When a go-live time set before publication passes, the next sweep (every
    DELIVERY_SWEEP_SECONDS) records it and purges exactly the term's keys."""
    chapter, lora, adapter, _ = site
    now = timezone.now()
    Term.objects.filter(pk=lora.pk).update(
        status=Status.PUBLISHED,
        published_at=now - datetime.timedelta(hours=1),
        go_live_at=now - datetime.timedelta(seconds=20),
    )
    assert sweep.func() == {"scheduled": 1, "dispatched": 1, "compacted": 0}
    assert purged == [
        sorted(["chapters", "terms", f"chapter:{chapter.pk}", f"term:{lora.pk}",
                f"term:{adapter.pk}"])
    ]  # fmt: skip
    assert sweep.func() == {"scheduled": 0, "dispatched": 0, "compacted": 0}  # once


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, carrying 127.0.0.1
    ],
)
def test_ipv6_wrapped_loopback_is_refused(db, url):
    """127.0.0.1 reached through NAT64 or 6to4 is still loopback."""
    with pytest.raises(ValidationError):
        WebhookEndpoint(url=url).full_clean()
