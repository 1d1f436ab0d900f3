# gabagool: `make help` lists the targets. The README quotes `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help dev deps system-deps build run test test-rust test-python fuzz bench lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip==25.3

$(VENV)/.deps: pyproject.toml | $(PY)
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(PIP) install --quiet -r $(VENV)/requirements.txt
	touch $@

deps: $(VENV)/.deps ## create .venv and install the pinned Python dependencies

build: deps ## build the Rust extension into .venv (maturin develop --release)
	maturin develop --release --quiet

system-deps: ## Debian packages the tests need (redis-server), installed only when missing
	@command -v redis-server >/dev/null || { \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

dev: system-deps build ## set everything up: venv, pinned deps, release build of the core

run: dev ## paper trading on the built-in simulated market
	$(VENV)/bin/gabagool run

test: dev lint test-rust test-python ## every check: lint, cargo test, then pytest (hypothesis included)

test-rust:
	cargo test --quiet

test-python:
	$(PY) -m pytest

FUZZ_MINUTES ?= 30
FUZZ_PYTEST := $(PY) -m pytest -x -p no:cacheprovider -m hypothesis --hypothesis-profile=fuzz

# Rounds of every hypothesis test (`-m hypothesis`) under the random `fuzz` profile
# (tests/conftest.py), each from a fresh seed it prints, until FUZZ_MINUTES have passed.
# The first failure prints its output and the command that replays it, and exits non-zero.
fuzz: dev ## property tests at random, round after round, for FUZZ_MINUTES (default 30)
	@start=$$(date +%s); end=$$((start + $(FUZZ_MINUTES) * 60)); rounds=0; examples=0; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	while [ $$(date +%s) -lt $$end ]; do \
		rounds=$$((rounds + 1)); seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
		echo "fuzz round $$rounds: --hypothesis-seed=$$seed"; \
		if ! $(FUZZ_PYTEST) --hypothesis-seed=$$seed --hypothesis-show-statistics >"$$log" 2>&1; then \
			cat "$$log"; \
			echo "fuzz: round $$rounds (seed $$seed) failed; replay: $(FUZZ_PYTEST) --hypothesis-seed=$$seed"; \
			exit 1; \
		fi; \
		n=$$(grep -A2 'during generate phase' "$$log" | grep -oE '[0-9]+ passing' | awk '{s += $$1} END {print s + 0}'); \
		examples=$$((examples + n)); echo "  $$n examples passed"; \
	done; \
	echo "fuzz: $$rounds rounds, $$examples examples, $$(( ($$(date +%s) - start) / 60 )) min, no failure"

bench: dev ## benchmarks: prints tables, writes benches/results/*.json
	$(PY) benches/run.py

lint: dev ## clippy with warnings as errors, ruff, mypy, stubtest
	cargo clippy --all-targets -- -D warnings
	cargo clippy --features python -- -D warnings
	$(VENV)/bin/ruff check python tests benches
	$(PY) -m mypy python/gabagool
	$(PY) -m mypy.stubtest gabagool._core --allowlist stubtest-allowlist.txt

clean: ## remove the virtualenv and build outputs
	rm -rf $(VENV) target
