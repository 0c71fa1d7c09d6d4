# The two commands a newcomer needs: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INTEROP := tests/interop
OIDC := tests/oidc
LIGHTHOUSE := tests/lighthouse

.PHONY: run test lint interop-deps oidc-deps lighthouse-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes; the stamp records that it is done.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

## run: set up the embedded default (SQLite, a development key, bundled frameworks) and serve on :8000
run: $(VENV)/.installed-run
	$(BIN)/issuer setup --dev
	$(BIN)/issuer serve

## test: install the test extras (and the JavaScript reference stack when npm is present), run the suite
test: $(VENV)/.installed-test interop-deps oidc-deps lighthouse-deps
	$(BIN)/python -m pytest

## lint: ruff, mypy (strict) and the import contracts
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The interoperability tests drive the Digital Bazaar stack; without npm they are skipped
# locally (never in CI, where .ci/run installs Node packages first).
interop-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  [ $(INTEROP)/node_modules/.package-lock.json -nt $(INTEROP)/package-lock.json ] || \
	  (cd $(INTEROP) && npm ci --no-audit --no-fund --silent); \
	else echo "npm not found: interoperability tests will be skipped"; fi

# The single sign-on tests run panva's oidc-provider on loopback; skipped without npm, as above.
oidc-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  [ $(OIDC)/node_modules/.package-lock.json -nt $(OIDC)/package-lock.json ] || \
	  (cd $(OIDC) && npm ci --no-audit --no-fund --silent); \
	else echo "npm not found: single sign-on tests will be skipped"; fi

# Lighthouse 12.2.3, pinned (13.x needs Node 22), against Debian's Chromium; skipped without npm.
lighthouse-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  [ $(LIGHTHOUSE)/node_modules/.package-lock.json -nt $(LIGHTHOUSE)/package-lock.json ] || \
	  (cd $(LIGHTHOUSE) && npm ci --no-audit --no-fund --silent); \
	else echo "npm not found: Lighthouse tests will be skipped"; fi

clean:
	rm -rf $(VENV) $(INTEROP)/node_modules $(OIDC)/node_modules $(LIGHTHOUSE)/node_modules .pytest_cache .mypy_cache .ruff_cache
