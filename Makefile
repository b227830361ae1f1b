# One entry point for people, CI and the README: each target creates/uses .venv and installs
# everything it needs (torch pinned to the CPU wheel first, then robustrank with its extras).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.robustrank-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test test-fast lint bench gpu-smoke clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,textattack]'
	touch $(STAMP)

install: $(STAMP)

## Run the demo audit (all-MiniLM-L6-v2 re-ranking BM25 on vaswani) -> reports/demo-minilm-vaswani/
demo: $(STAMP)
	$(BIN)/robustrank audit examples/demo.yaml

## Run the linter, then the whole test suite (tiny random models + the real MiniLM on a vaswani slice)
test: $(STAMP) lint
	$(BIN)/python -m pytest

## House rules: ruff (configured in pyproject.toml)
lint: $(STAMP)
	$(BIN)/python -m ruff check .

## Only the fast tests (no real model)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not realmodel"

## Benchmarks (print ratios against a baseline measured in the same run)
bench: $(STAMP)
	$(BIN)/python bench/score_throughput.py

## GPU smoke benchmark (prints one line and exits 0 without CUDA; GPU_SMOKE_ARGS='--quick --json gpu.json')
gpu-smoke: $(STAMP)
	$(BIN)/python bench/gpu_smoke.py $(GPU_SMOKE_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
