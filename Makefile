# FinAI developer commands. `make demo` and `make test` are the two the README promises.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
CI ?=

# CI (CI=true) runs against the machine's Postgres and Redis; elsewhere they are used when set.
ifeq ($(CI),true)
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/finai
export REDIS_URL ?= redis://127.0.0.1:6379/0
endif

.PHONY: venv lock demo test lint format worker bench soak migrate clean chromium wrk

venv: $(VENV)/.installed

# Development and CI: the runtime and the test tools, every package at its locked version and hash. Production
# installs requirements.lock alone (README, "Production deploy").
$(VENV)/.installed: requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

# After editing requirements.txt or requirements-dev.txt: pin every transitive dependency with its hashes.
lock:
	$(PY) -m pip install --quiet pip-tools==7.7.0
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --output-file requirements.lock requirements.txt
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --output-file requirements-dev.lock requirements-dev.txt

migrate: venv
	$(PY) manage.py migrate --noinput

demo: export DEBUG = true
demo: venv migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py load_german_credit
	$(PY) manage.py import_berka --path data/berka
	$(PY) manage.py screening_load --source amlsim --screen --requested-by demo_compliance
	@mkdir -p var
	@echo "Starting a Celery worker with beat (log: var/worker.log) and the web server on http://127.0.0.1:8000/"
	$(VENV)/bin/celery -A finai worker -Q scoring,training,analytics --concurrency 2 -B -s var/celerybeat-schedule -l info > var/worker.log 2>&1 & \
		worker=$$!; trap "kill $$worker" EXIT INT TERM; \
		$(PY) manage.py ensure_demo_champion && \
		$(PY) manage.py ensure_demo_history && \
		$(PY) manage.py ensure_demo_segmentation && \
		echo "FinAI demo: http://127.0.0.1:8000/  (logins above; e.g. demo_officer / demo-officer-pass)" && \
		$(PY) manage.py runserver 127.0.0.1:8000

# Browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The first line names the back-ends; then the environment is prepared and the whole suite runs.
test:
	@case "$$DATABASE_URL" in postgres*) db=postgres;; *) db=sqlite;; esac; \
		if [ -n "$$REDIS_URL" ]; then broker=redis; else broker="embedded file-system transport"; fi; \
		echo "FinAI test back-ends: database=$$db, broker=$$broker"
	@$(MAKE) --no-print-directory venv chromium
	$(PY) -m pytest

# Ruff, then every locked pin (the runtime lock is a subset of the development one) against PyPI's advisories. --strict: a
# pin the service cannot answer for fails the audit, instead of passing unaudited. No pip: the locks are resolved.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pip-audit --strict --disable-pip --progress-spinner off -r requirements.lock -r requirements-dev.lock

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Beat runs inside the worker (-B): the sweeper that queues applications a broker outage left undecided, and every
# other periodic task, need no second process. A deployment of several workers starts exactly one with -B.
worker: venv
	@mkdir -p var
	$(VENV)/bin/celery -A finai worker -Q scoring,training,analytics -B -s var/celerybeat-schedule -l info

# The HTTP load benchmark (benchmarks/test_bench_api_http.py) drives Debian's wrk.
wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

# The fault tests alone (`make test` runs them too): kill -9 of workers, Redis and Postgres outages, each test on a
# Postgres cluster and a Redis server of its own (needs Postgres 15's binaries and redis-server; run as root).
faults: venv
	$(PY) -m pytest tests/faults -p no:cacheprovider --durations=0

# Benchmarks measure production paths, so they run on Postgres (the machine's, unless DATABASE_URL says otherwise).
bench: venv wrk
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/finai} $(PY) -m pytest benchmarks -s -p no:cacheprovider

# Ten minutes (SOAK_SECONDS) of partner decisions and screening at a fixed rate against gunicorn, a Celery worker,
# Postgres and Redis; reports errors, latency and memory (var/soak.json). Its own database, dropped and recreated:
# SOAK_DATABASE_URL (default finai_soak on 127.0.0.1); the other settings are in benchmarks/soak/config.py.
soak: venv
	$(PY) -m benchmarks.soak

clean:
	rm -rf var/test_finai.sqlite3 var/broker
