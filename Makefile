# The two commands of the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000
TEST_WORKERS ?= 2  # pytest-xdist processes: one per core here

.PHONY: run test setup assets lint clean weight bench

run: export PORTAL_BASE_URL ?= http://127.0.0.1:$(PORT)
run: export PORTAL_DEMO_MAILBOX ?= 1
run: setup ## set up, migrate, load demo data, serve on http://127.0.0.1:$(PORT)
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Absah: http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	@if [ "$$PORTAL_DEMO_MAILBOX" = 1 ]; then echo "E-mails (demo mailbox, no SMTP needed): http://127.0.0.1:$(PORT)/dev/mailbox"; fi
	$(VENV)/bin/gunicorn --workers 2 --worker-class gthread --threads 4 --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: setup ## set up and run the whole suite (PostgreSQL too when PORTAL_TEST_DATABASE_URL is set)
	@if [ -z "$$PORTAL_TEST_DATABASE_URL" ]; then \
	  echo "PostgreSQL part skipped: set PORTAL_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test to run it"; fi
	@$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; \
	  exit $$status

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	@touch $@

# htmx comes from the npm registry, pinned by package-lock.json, copied into static/vendor/.
# Without npm the portal still works: every page is a plain HTML form first.
# axe-core (accessibility checks of the browser tests) is vendored into tests/vendor/ the same way.
assets: static/vendor/htmx.min.js tests/vendor/axe.min.js

static/vendor/htmx.min.js tests/vendor/axe.min.js &: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1 && npm ci --no-audit --no-fund --silent; then \
	  mkdir -p static/vendor tests/vendor && cp node_modules/htmx.org/dist/htmx.min.js static/vendor/ \
	  && cp node_modules/axe-core/axe.min.js tests/vendor/; \
	else echo "npm unavailable or offline: htmx not installed; pages work without JavaScript"; fi

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) node_modules static/vendor tests/vendor instance .pytest_cache

bench: setup ## latency with 100,000 files, load under gunicorn (wrk), signing, weights, 2G
	$(PY) bench/run.py $(BENCH_ARGS)

weight: setup ## print the bytes on the wire of the key pages (gzip) against their budgets
	$(PY) -m pytest tests/test_weight.py -q -s -k sqlite
