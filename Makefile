# The project's own install and check steps. Everything a fresh machine needs is installed here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: run scan-examples test install install-dev lint typecheck pytest bench bench-image bench-service eval-pii eval-images clean bench-hashbank bench-bank-startup bench-short eval-hashes eval-text train-text

$(BIN)/python:
	sh scripts/build-deps.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# mediapipe goes in without its declared dependencies (see the image extra in pyproject.toml).
MEDIAPIPE := mediapipe==0.10.21

install: $(BIN)/python
	$(PIP) install --quiet -e '.[image,service]'
	$(PIP) install --quiet --no-deps '$(MEDIAPIPE)'

install-dev: $(BIN)/python
	$(PIP) install --quiet -e '.[image,service,dev,bench]'
	$(PIP) install --quiet --no-deps '$(MEDIAPIPE)'

# Winnow's main job on its embedded default: the HTTP API on http://127.0.0.1:8000 with SQLite
# (winnow.db here) and in-process job workers. The first run creates a key for tenant "demo" and
# prints it (once); later runs reuse the database.
run: install
	@$(BIN)/winnow key list --tenant demo | grep -q ' active ' || \
	  $(BIN)/winnow key create --tenant demo --name make-run
	$(BIN)/winnow serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# Moderate the bundled examples from the command line, no server.
scan-examples: install
	$(BIN)/winnow scan examples/ --format table; status=$$?; \
	  if [ $$status -le 3 ]; then exit 0; else exit $$status; fi

lint:
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck:
	$(BIN)/mypy

# pytest exits 5 when it collected no test: that must fail, not pass silently.
pytest:
	$(BIN)/pytest -q; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

test: install-dev lint typecheck pytest

bench: install-dev
	$(BIN)/python benchmarks/bench_text.py
	$(BIN)/python benchmarks/bench_text_stages.py
	$(BIN)/python benchmarks/bench_image.py
	$(BIN)/python benchmarks/bench_service.py

bench-service: install-dev
	$(BIN)/python benchmarks/bench_service.py

bench-image: install-dev
	$(BIN)/python benchmarks/bench_image.py

bench-hashbank: install-dev
	$(BIN)/python benchmarks/bench_hashbank.py

bench-bank-startup: install-dev
	$(BIN)/python benchmarks/bench_bank_startup.py

bench-short: install-dev
	$(BIN)/python benchmarks/bench_text_short.py

# Retrain the shipped text classifiers from ../shared/data (deterministic: same data, same bytes).
train-text: install-dev
	$(PIP) install --quiet -e '.[train]'
	$(BIN)/python scripts/train_text_classifier.py

eval-text: install-dev
	$(BIN)/winnow eval text

eval-hashes: install
	$(BIN)/winnow eval hashes

eval-images: install
	$(BIN)/winnow eval images

eval-pii: install
	$(BIN)/winnow eval pii

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
