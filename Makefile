# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PYTEST_ARGS ?=
# Where `make run` serves: make run PORT=8001
PORT ?= 8000
# --pgbouncer and/or --replica: the PostgreSQL run behind PgBouncer, beside a replica (CI).
POSTGRES_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-dev setup run worker superuser test test-sqlite test-postgres lint format checks schema loadtest loadtest-scale bench bench-quick bench-sqlite graphiql clean

help:
	@echo "make run          set up and serve the API and admin on http://127.0.0.1:8000"
	@echo "make test         the whole suite (on a throwaway PostgreSQL when installed)"
	@echo "make test-sqlite  the whole suite on SQLite"
	@echo "make superuser    create an admin account"
	@echo "make worker       the delivery worker (CDN purges, webhooks) and its clock"
	@echo "make schema       regenerate schema.graphql"
	@echo "make lint         ruff check and format check"
	@echo "make checks       Django system checks, deploy checks, missing-migration check"
	@echo "make loadtest     60 s of load on loopback against the production server"
	@echo "make loadtest-scale  one quiz's class at gunicorn 1, 2 and 4 workers (docs/performance.md)"
	@echo "make bench        benchmarks against the practical limit (size L: 1M attempts)"
	@echo "make bench-quick  the same with 100,000 attempts and fewer repetitions"
	@echo "make bench-sqlite the chapter page and concurrent submissions on SQLite, 10,000 terms"
	@echo "make graphiql     re-vendor GraphiQL's files from npm (after a strawberry upgrade)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What running needs; the test, browser and benchmark tools come with install-dev.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# Development settings for this checkout, read by settings.py; the environment wins.
.env:
	@printf '# Written by make run for development; git-ignored. Variables set in the environment win.\nDEBUG=true\n' > $@

# Everything `make run` does before serving.
setup: install .env
	$(MANAGE) migrate
	$(MANAGE) load_seed fixtures/*.json

run: setup
	@echo
	@echo "  Admin:    http://127.0.0.1:$(PORT)/admin/  (make an account: make superuser)"
	@echo "  GraphQL:  http://127.0.0.1:$(PORT)/graphql (GraphiQL in the browser)"
	@echo "  Start:    http://127.0.0.1:$(PORT)/"
	@echo "  Worker:   make worker (in another terminal: CDN purges, webhooks, schedules)"
	@echo
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# The delivery worker on the database backend, and the clock that queues its sweeps.
worker: setup
	trap 'kill 0' EXIT; $(MANAGE) delivery_clock & $(MANAGE) db_worker

superuser: install .env
	$(MANAGE) createsuperuser

# DATABASE_URL given explicitly wins; otherwise PostgreSQL if its binaries are here.
test: install-dev
ifdef DATABASE_URL
	$(BIN)/pytest $(PYTEST_ARGS)
else
	$(BIN)/python scripts/with_postgres.py --or-sqlite $(POSTGRES_ARGS) -- $(BIN)/pytest $(PYTEST_ARGS)
endif

test-postgres: install-dev
	$(BIN)/python scripts/with_postgres.py $(POSTGRES_ARGS) -- $(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: install-dev
	DATABASE_URL=sqlite:///$(CURDIR)/db.sqlite3 $(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

checks: export SECRET_KEY ?= checks-only-not-a-secret
checks: install-dev
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=glossary.example.com SECURE_SSL_REDIRECT=true \
	  $(MANAGE) check --deploy --fail-level WARNING

loadtest: install-dev
	$(BIN)/python bench/loadtest.py --seconds 60 --users 20

loadtest-scale: install-dev
	$(BIN)/python bench/scale.py --seconds 30

bench: install-dev
	$(BIN)/python bench/run.py

bench-quick: install-dev
	$(BIN)/python bench/run.py --quick

bench-sqlite: install-dev
	$(BIN)/python bench/sqlite.py

graphiql: install
	$(BIN)/python scripts/vendor_graphiql.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

schema: install-dev
	SECRET_KEY=schema-export-only $(MANAGE) export_schema glossary_backend.schema --path schema.graphql
