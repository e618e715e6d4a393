"""Scale scenario: a class of learners submitting the same quiz while readers load term
and chapter pages.

Run through bench/scale.py. Every submission comes from a learner of its own: a fresh
client address sent in X-Forwarded-For (the server trusts one proxy,
TRUSTED_PROXY_COUNT=1), so the per-address submission limit is honoured, not switched
off, and still never reached.
"""

import os
import random
import uuid

from locust import HttpUser, constant, task

from bench.locustfile import (
    CHAPTER,
    CHAPTER_PAGE,
    QUIZ,
    QUIZ_SLUG,
    SUBMIT,
    TERM_PAGE,
    TERMS,
    post,
    read,
)


class Learner(HttpUser):
    fixed_count = int(os.environ.get("SCALE_LEARNERS", "8"))
    wait_time = constant(0)

    def on_start(self):
        with post(self.client, QUIZ, {"slug": QUIZ_SLUG}, "quiz page") as response:
            self.quiz = response.json()["data"]["quiz"]
            response.success()

    @task
    def submit(self):
        address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        answers = [
            {"question": q["id"], "choices": [random.choice(q["choices"])["id"]]}
            for q in self.quiz["questions"]
        ]
        variables = {"input": {"quiz": self.quiz["id"], "answers": answers,
                               "idempotencyKey": str(uuid.uuid4()),
                               "clientId": f"learner-{uuid.uuid4()}"}}  # fmt: skip
        with self.client.post(
            "/graphql",
            json={"query": SUBMIT, "variables": variables},
            headers={"X-Forwarded-For": address},
            name="submit",
            catch_response=True,
        ) as response:
            body = response.json() if response.status_code == 200 else {}
            result = (body.get("data") or {}).get("submitQuizAttempt") or {}
            if result.get("__typename") != "QuizAttempt":
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Reader(HttpUser):
    fixed_count = int(os.environ.get("SCALE_READERS", "8"))
    wait_time = constant(0)

    @task(1)
    def chapter_page(self):
        read(self.client, CHAPTER_PAGE, {"slug": CHAPTER}, "chapter page")

    @task(3)
    def term_page(self):
        read(self.client, TERM_PAGE, {"slug": random.choice(TERMS)}, "term page")
