"""Load scenario: 90% reads (chapter, term, search, quiz pages) and 10% quiz submissions.

Run through bench/loadtest.py, which starts the production server on loopback and
checks the outcome. Each submission's outcome is appended, one JSON object a line, to
the file named by LOAD_RESULTS, so that stored attempts can be counted afterwards.
"""

import json
import os
import random
import uuid

from locust import HttpUser, between, task

CHAPTER_PAGE = """query($slug: String!) { chapter(slug: $slug) {
  title termCount letters { letter count }
  terms(first: 50) { totalCount edges { node { slug name abbreviation definition } } } } }"""
TERM_PAGE = """query($slug: String!) { term(slug: $slug) { name abbreviation expansion definition
  chapter { slug title } relatedTerms { slug name } } }"""
SEARCH = "query($q: String!) { search(query: $q, first: 10) { rank highlight term { slug name } } }"
QUIZ = """query($slug: String!) {
  quiz(slug: $slug) { id title questions { id kind choices { id } } } }"""
SUBMIT = """mutation($input: SubmitQuizAttemptInput!) { submitQuizAttempt(input: $input) {
  __typename ... on QuizAttempt { id score } ... on OperationInfo { messages { code } } } }"""

CHAPTER = "fine-tuning-alignment-terms"
QUIZ_SLUG = "fine-tuning-alignment-quiz"
TERMS = ["lora", "qlora", "rlhf", "dpo", "epoch", "peft", "reward-model", "test-set"]
QUERIES = ["lora", "preference", "fine-tuning", "rlhf", "learning rate", "adapter"]
RESULTS = os.environ.get("LOAD_RESULTS")


def post(client, query, variables, name):
    return client.post("/graphql", json={"query": query, "variables": variables}, name=name,
                       catch_response=True)  # fmt: skip


def read(client, query, variables, name):
    """A read that fails unless it answers 200 without GraphQL errors."""
    with post(client, query, variables, name) as response:
        if response.status_code != 200 or "errors" in response.json():
            response.failure(f"{response.status_code}: {response.text[:200]}")


class Learner(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        with post(self.client, QUIZ, {"slug": QUIZ_SLUG}, "quiz page") as response:
            self.quiz = response.json()["data"]["quiz"]
            response.success()
        self.client_id = f"learner-{uuid.uuid4()}"
        self.sent = []

    def read(self, query, variables, name):
        read(self.client, query, variables, name)

    @task(3)
    def chapter_page(self):
        self.read(CHAPTER_PAGE, {"slug": CHAPTER}, "chapter page")

    @task(3)
    def term_page(self):
        self.read(TERM_PAGE, {"slug": random.choice(TERMS)}, "term page")

    @task(2)
    def search(self):
        self.read(SEARCH, {"q": random.choice(QUERIES)}, "search")

    @task(1)
    def quiz_page(self):
        self.read(QUIZ, {"slug": QUIZ_SLUG}, "quiz page")

    @task(1)
    def submit(self):
        if self.sent and random.random() < 0.2:
            key, answers = random.choice(self.sent)  # a client retrying
        else:
            key = str(uuid.uuid4())
            answers = [
                {"question": q["id"], "choices": [random.choice(q["choices"])["id"]]}
                for q in self.quiz["questions"]
                if random.random() < 0.9
            ]
            self.sent.append((key, answers))
        variables = {"input": {"quiz": self.quiz["id"], "answers": answers,
                               "idempotencyKey": key, "clientId": self.client_id}}  # fmt: skip
        if RESULTS:
            # Recorded before sending: a request still in flight when the run stops may be
            # stored without its answer ever being read.
            with open(RESULTS, "a") as results:
                results.write(json.dumps({"sent": key, "client": self.client_id}) + "\n")
        with post(self.client, SUBMIT, variables, "submit") as response:
            outcome = {"key": key, "client": self.client_id, "status": response.status_code}
            if response.status_code in (200, 429):
                body = response.json()
                result = (body.get("data") or {}).get("submitQuizAttempt") or {}
                outcome["attempt"] = result.get("id")
                outcome["codes"] = [
                    e.get("extensions", {}).get("code") for e in body.get("errors") or []
                ]
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            if RESULTS:
                with open(RESULTS, "a") as results:
                    results.write(json.dumps(outcome) + "\n")
