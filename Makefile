# Every target creates the virtual environment if it is missing. torch is installed first and
# pinned, so that pip takes the CPU build on this machine instead of a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0

.PHONY: venv demo test bench bench-check clean

$(BIN)/gankit: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(BIN)/gankit

venv: $(BIN)/gankit

demo: venv
	$(BIN)/gankit demo --out runs/demo

test: venv
	$(BIN)/python -m pytest tests

bench: venv
	$(BIN)/python -m benchmarks.run_all

# minutes, not part of the test suite: re-runs each benchmark's short seeded check rows and
# compares them with what its full run recorded in docs/benchmarks.md (see benchmarks/check.py)
bench-check: venv
	$(BIN)/python -m benchmarks.check

clean:
	rm -rf $(VENV) runs .gankit-cache
