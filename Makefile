# DocOS. Quick start: `make run` (demo clinic) and `make test` (whole suite). See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-night check lint typecheck pytest bench install system-deps messages frontend clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) system-deps messages frontend

# Browser bundles from npm packages (package.json, pinned by package-lock.json): `npm ci` when the lock
# file changed, then esbuild writes static/build/ (not committed), which the pages and tests load.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

static/build/local_viewer.js: $(NODE_STAMP) scripts/build-frontend.mjs $(wildcard frontend/*.js)
	node scripts/build-frontend.mjs

frontend: static/build/local_viewer.js

system-deps:
	@bash scripts/system-deps.sh

# The interface languages: locale/<code>/LC_MESSAGES/django.po compiled to django.mo. The .mo files are
# committed too (a checkout without gettext, e.g. a non-root install, still has every language), and
# recompiled here whenever msgfmt is available; tests/accounts/test_language.py checks that they match.
messages:
	@if command -v msgfmt >/dev/null 2>&1; then \
	  for po in locale/*/LC_MESSAGES/django.po; do msgfmt --check -o "$${po%.po}.mo" "$$po" || exit 1; done; \
	else echo "[docos] gettext (msgfmt) not found: using the committed .mo files"; fi

run: install
	$(PY) -m docos.launcher

# Lint, types and the whole pytest suite, against DATABASE_URL/REDIS_URL or embedded services.
test: install
	$(PY) -m docos.embedded -- $(MAKE) --no-print-directory check

# The tests whose outcome could depend on the time of day, again under night-time clocks in India
# (libfaketime at 23:30 and 03:00 Asia/Kolkata; needs `faketime`, which system-deps installs).
NIGHT_TESTS ?= tests/appointments tests/documents/test_certificates.py tests/documents/test_consents.py \
	tests/documents/test_consents_pages.py tests/documents/test_consents_api.py \
	tests/patients/test_registry_services.py tests/patients/test_cross_branch_access.py \
	tests/audit/test_audit_console.py tests/messaging
test-night: install
	$(PY) -m docos.embedded -- bash scripts/test-night.sh $(NIGHT_TESTS)

check: lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

pytest: $(STAMP)
	$(VENV)/bin/pytest

bench: install
	$(PY) -m docos.embedded -- $(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) node_modules static/build var/staticfiles .pytest_cache .mypy_cache .ruff_cache
