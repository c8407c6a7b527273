# Two commands on a fresh machine with only Python: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,video]'
	touch $(STAMP)

.PHONY: run test lint venv clean
venv: $(STAMP)

## run: a single local island on the embedded default (CartPole-v1, weights+rules)
run: $(STAMP)
	$(BIN)/island-node $(ARGS)

## test: lint, then the whole pytest suite, a file at a time in each of TEST_WORKERS processes
# (most of the suite's time is nodes waiting on one another, which overlaps: 6.4 min against
# 10.9 serially on 2 cores)
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs .pytest_cache
