# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run superuser test test-sqlite test-postgres lint format checks schema loadtest bench bench-quick clean

help:
	@echo "make run          set up and serve the API and admin on http://127.0.0.1:8000"
	@echo "make test         the whole suite (on a throwaway PostgreSQL when installed)"
	@echo "make test-sqlite  the whole suite on SQLite"
	@echo "make superuser    create an admin account"
	@echo "make schema       regenerate schema.graphql"
	@echo "make lint         ruff check and format check"
	@echo "make checks       Django system checks, deploy checks, missing-migration check"
	@echo "make loadtest     60 s of load on loopback against the production server"
	@echo "make bench        benchmarks against the practical limit (size L: 1M attempts)"
	@echo "make bench-quick  the same with 100,000 attempts and fewer repetitions"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

run: export DEBUG ?= true
run: install
	$(MANAGE) migrate
	$(MANAGE) load_seed fixtures/*.json
	$(MANAGE) runserver 127.0.0.1:8000

superuser: install
	$(MANAGE) createsuperuser

# DATABASE_URL given explicitly wins; otherwise PostgreSQL if its binaries are here.
test: install
ifdef DATABASE_URL
	$(BIN)/pytest $(PYTEST_ARGS)
else
	$(BIN)/python scripts/with_postgres.py --or-sqlite -- $(BIN)/pytest $(PYTEST_ARGS)
endif

test-postgres: install
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: install
	DATABASE_URL=sqlite:///$(CURDIR)/db.sqlite3 $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

checks: export SECRET_KEY ?= checks-only-not-a-secret
checks: install
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=glossary.example.com SECURE_SSL_REDIRECT=true \
	  $(MANAGE) check --deploy --fail-level WARNING

loadtest: install
	$(BIN)/python bench/loadtest.py --seconds 60 --users 20

bench: install
	$(BIN)/python bench/run.py

bench-quick: install
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

schema: install
	SECRET_KEY=schema-export-only $(MANAGE) export_schema glossary_backend.schema --path schema.graphql
