"""Benchmark data, generated inside PostgreSQL with set-returning SQL (no Python loops).

Size M: 50 chapters x 200 terms (10,000 terms, about 3 see-also links each), 50 quizzes
x 20 questions x 4 choices, all published. Size L: M plus attempts at the first quiz
(1,000,000, or 100,000 in quick mode) with an answer per question and the chosen
choices. The daily roll-ups the analytics read are then built by the application's own
definition (`manage.py rollups rebuild`, run by bench/run.py), not by SQL of their own.
"""

import time

WORDS = [
    "model",
    "training",
    "data",
    "learning",
    "agent",
    "policy",
    "reward",
    "token",
    "prompt",
    "vector",
    "memory",
    "tool",
    "planner",
    "context",
    "evaluation",
    "feedback",
    "alignment",
    "gradient",
    "adapter",
    "retrieval",
    "embedding",
    "inference",
    "latency",
    "safety",
    "dataset",
    "benchmark",
    "checkpoint",
    "optimizer",
    "tuning",
    "preference",
]

SIZE_M = """
INSERT INTO terms_chapter (id, title, slug, description, position, status, published_at,
                           created_at, updated_at)
SELECT c, 'Chapter ' || c, 'chapter-' || c, 'About chapter ' || c, c, 'published', now(),
       now(), now()
FROM generate_series(1, 50) AS c;

INSERT INTO terms_term (id, name, slug, abbreviation, expansion, aliases, definition,
                        explanation, seo_title, seo_description, chapter_id, status,
                        published_at, created_at, updated_at)
SELECT t,
       initcap(w[1 + (t * 7) %% n]) || ' ' || initcap(w[1 + (t * 13) %% n]) || ' ' || t,
       'term-' || t,
       CASE WHEN t %% 10 = 0 THEN upper(left(w[1 + t %% n], 3)) || t ELSE '' END,
       '',
       '',
       'A ' || w[1 + (t * 3) %% n] || ' ' || w[1 + (t * 5) %% n] || ' that shapes the '
         || w[1 + (t * 11) %% n] || ' of a ' || w[1 + (t * 17) %% n] || ' during '
         || w[1 + (t * 19) %% n] || '.',
       '', '', '',
       1 + (t - 1) / 200, 'published', now(), now(), now()
FROM generate_series(1, 10000) AS t, (SELECT %(words)s::text[] AS w, %(count)s AS n) AS vocabulary;

INSERT INTO terms_termrelation (from_term_id, to_term_id)
SELECT pair.a, pair.b FROM (
  SELECT t AS a, (t - 1) / 200 * 200 + 1 + ((t - 1) %% 200 + step) %% 200 AS b
  FROM generate_series(1, 10000) AS t, (VALUES (1), (2), (5)) AS steps(step)
) AS pair
UNION
SELECT pair.b, pair.a FROM (
  SELECT t AS a, (t - 1) / 200 * 200 + 1 + ((t - 1) %% 200 + step) %% 200 AS b
  FROM generate_series(1, 10000) AS t, (VALUES (1), (2), (5)) AS steps(step)
) AS pair
ON CONFLICT DO NOTHING;

INSERT INTO quizzes_quiz (id, title, slug, description, chapter_id, pass_percentage, status,
                          published_at, created_at, updated_at, reveal, shuffle_questions)
SELECT q, 'Quiz ' || q, 'quiz-' || q, 'Questions on chapter ' || q, q, 70, 'published', now(),
       now(), now(), 'always', false
FROM generate_series(1, 50) AS q;

INSERT INTO quizzes_question (id, quiz_id, position, prompt, kind, term_id, explanation, version)
SELECT (q - 1) * 20 + p, q, p, 'Which term matches definition ' || p || ' of quiz ' || q || '?',
       CASE WHEN p %% 5 = 0 THEN 'multiple' WHEN p %% 7 = 0 THEN 'true_false' ELSE 'single' END,
       (q - 1) * 200 + p, 'Because of the definition.', 1
FROM generate_series(1, 50) AS q, generate_series(1, 20) AS p;

INSERT INTO quizzes_choice (id, question_id, position, text, is_correct, pinned, public_id)
SELECT (question - 1) * 4 + c, question, c, 'Choice ' || c,
       c = 1 OR (c = 2 AND question %% 5 = 0),
       -- Benchmark choices are known by their id: both sides then serve the same IDs.
       false, (question - 1) * 4 + c
FROM generate_series(1, 1000) AS question, generate_series(1, 4) AS c
WHERE c <= 2 OR (question - 1) %% 20 + 1 NOT IN (7, 14);
"""

# Scored in SQL as quizzes.scoring scores (tests/quizzes/test_scoring.py proves it on a
# sample): a question is right when the picked choices are exactly the correct ones, which
# here is "knows and did not skip"; the percentage is score / 20 x 100, passed at 70.
SIZE_L = """
SELECT setseed(0.42);

CREATE TEMPORARY TABLE generated ON COMMIT DROP AS
SELECT a AS attempt, q.position, q.id AS question_id, q.kind,
       random() < 0.35 + 0.5 * ((a::bigint * 7919) %% 1000) / 1000.0 AS knows,
       random() < 0.03 AS skipped,
       1 + floor(random() * 3)::int AS distractor
FROM generate_series(1, %(attempts)s) AS a
CROSS JOIN quizzes_question AS q
WHERE q.quiz_id = 1;

CREATE TEMPORARY TABLE per_attempt ON COMMIT DROP AS
SELECT attempt, count(*) FILTER (WHERE knows AND NOT skipped) AS score,
       now() - make_interval(secs => (attempt %% 2592000)) AS submitted,
       make_interval(secs => 60 + attempt %% 600) AS duration
FROM generated GROUP BY attempt;

CREATE TEMPORARY TABLE picked ON COMMIT DROP AS
SELECT attempt, (attempt - 1) * 20 + position AS answer, pick.number,
       (question_id - 1) * 4 + pick.choice AS choice_id
FROM generated,
     unnest(CASE WHEN skipped THEN ARRAY[]::int[]
                 WHEN knows AND kind = 'multiple' THEN ARRAY[1, 2]
                 WHEN knows THEN ARRAY[1]
                 WHEN kind = 'true_false' THEN ARRAY[2]
                 ELSE ARRAY[1 + distractor] END) WITH ORDINALITY AS pick(choice, number);

INSERT INTO quizzes_quizattempt (id, quiz_id, client_id, idempotency_key, answers_fingerprint,
                                 started_at, submitted_at, duration, score, max_score,
                                 percentage, passed)
SELECT attempt, 1, 'learner-' || (attempt %% 40000), 'bench-' || attempt, '',
       submitted - duration, submitted, duration, score, 20, score * 5.0, score * 5.0 >= 70
FROM per_attempt;

INSERT INTO quizzes_attemptanswer (id, attempt_id, question_id, is_correct)
SELECT (attempt - 1) * 20 + position, attempt, question_id, knows AND NOT skipped
FROM generated;

INSERT INTO quizzes_attemptanswerchoice (id, answer_id, choice_id)
SELECT (answer - 1) * 2 + number, answer, choice_id FROM picked;
"""

SEQUENCES = [
    "terms_chapter", "terms_term", "terms_termrelation", "quizzes_quiz", "quizzes_question",
    "quizzes_choice", "quizzes_quizattempt", "quizzes_attemptanswer",
    "quizzes_attemptanswerchoice",
]  # fmt: skip


def first_choice_answers(quiz: int) -> list[tuple[int, int]]:
    """(question id, id of its first choice) for every question of `quiz`, as SIZE_M
    numbers them: 20 questions per quiz, 4 choice ids per question."""
    questions = range((quiz - 1) * 20 + 1, quiz * 20 + 1)
    return [(question, (question - 1) * 4 + 1) for question in questions]


ATTEMPT_TABLES = ["quizzes_quizattempt", "quizzes_attemptanswer", "quizzes_attemptanswerchoice"]


def set_aside_indexes(cursor, tables: list[str]) -> list[str]:
    """Drops the tables' constraints and indexes but their primary keys; returns the
    statements that restore them. Building an index once over 20,000,000 rows is much
    faster than maintaining it row by row."""
    restore = []
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) AND contype <> 'p'",
        [tables],
    )
    for table, name, kind, definition in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        # The rows are consistent by construction: foreign keys are restored without
        # scanning 20,000,000 rows again; they hold for every row written afterwards.
        restore.append(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
            + (" NOT VALID" if kind == "f" else "")
        )
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
        "AND indexname NOT LIKE '%%_pkey'",
        [tables],
    )
    for name, definition in cursor.fetchall():
        cursor.execute(f"DROP INDEX {name}")
        restore.append(definition)
    return restore


def statements(sql: str) -> list[str]:
    return [statement for statement in sql.split(";\n") if statement.strip()]


def generate(database_url: str, *, attempts: int) -> dict[str, float]:
    """Fill an empty, migrated database; returns seconds spent per step."""
    import psycopg

    def bulk_settings():
        # SET LOCAL, once per transaction: behind a transaction pooler (PgBouncer) a plain
        # SET would stay on a server session that other clients get next.
        connection.execute("SET LOCAL statement_timeout = 0")
        connection.execute("SET LOCAL maintenance_work_mem = '512MB'")
        connection.execute("SET LOCAL max_parallel_maintenance_workers = 2")

    timings = {}
    with psycopg.connect(database_url, autocommit=False) as connection:
        bulk_settings()
        with connection.cursor() as cursor:
            started = time.perf_counter()
            for statement in statements(SIZE_M):
                cursor.execute(statement, {"words": WORDS, "count": len(WORDS)})
            connection.commit()
            timings["size M"] = round(time.perf_counter() - started, 1)
            if attempts:
                bulk_settings()
                started = time.perf_counter()
                restore = set_aside_indexes(cursor, ATTEMPT_TABLES)
                for statement in statements(SIZE_L):
                    cursor.execute(statement, {"attempts": attempts})
                timings["attempts"] = round(time.perf_counter() - started, 1)
                started = time.perf_counter()
                for statement in restore:
                    cursor.execute(statement)
                connection.commit()
                timings["indexes"] = round(time.perf_counter() - started, 1)
        for table in SEQUENCES:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        connection.commit()
        connection.execute("ANALYZE")
    return timings
