# Verbatim: `make run` starts the whole site; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
XDIST ?= 2
TYPED := project accounts api realtime transcripts tests bench

.PHONY: run test test-fast test-slow test-browser lint types format bench system-deps js-clients clean

$(VENV)/.runtime: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: install, migrate and start the web server and workers (embedded mode)
run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

## system-deps: Debian packages the tests use (a browser, a speech synthesiser, npm for the JS clients)
system-deps:
	@command -v chromium >/dev/null && command -v espeak-ng >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng npm; \
	  else echo "Install Debian's chromium, espeak-ng and npm (sudo apt-get install chromium espeak-ng npm)"; exit 1; fi; }

## js-clients: the official JavaScript clients the browser tier runs (tests/browser/js, pinned by its lock file)
JS_CLIENTS := tests/browser/js/node_modules/.package-lock.json
js-clients: $(JS_CLIENTS)
$(JS_CLIENTS): tests/browser/js/package.json tests/browser/js/package-lock.json
	cd tests/browser/js && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

## test: lint, then every tier of the suite (what CI runs)
test: lint test-fast test-slow test-browser

## test-fast: the in-process tests, in parallel (a minute or less)
test-fast: $(VENV)/.dev
	$(PY) -m pytest -n $(XDIST) -m "not slow and not browser"

## test-slow: the tests that start Daphne, Celery workers and other processes
test-slow: $(VENV)/.dev
	$(PY) -m pytest -m "slow and not browser"

## test-browser: Chromium through Playwright, in a pytest run of its own
test-browser: $(VENV)/.dev system-deps $(JS_CLIENTS)
	$(PY) -m pytest tests/browser

## lint: ruff, the types (mypy, ratcheted against mypy-baseline.txt), and no model change without its migration
lint: $(VENV)/.dev types
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

## types: mypy with django-stubs; fails on an error not in mypy-baseline.txt, or one
## fixed but still listed there (then run `make types-baseline` to ratchet it down)
types: $(VENV)/.dev
	$(PY) -m mypy $(TYPED) | $(VENV)/bin/mypy-baseline filter --sort-baseline --no-colors

types-baseline: $(VENV)/.dev
	$(PY) -m mypy $(TYPED) | $(VENV)/bin/mypy-baseline sync --sort-baseline

format: $(VENV)/.dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## bench: the benchmarks in bench/, each printing ratios measured in one run
bench: $(VENV)/.dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) data
