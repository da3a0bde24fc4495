# Each target builds the environment it needs; a fresh machine needs nothing installed by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WEIGHTS := .cache/weights/ball-cls.pt
PORT   ?= 9090
export YOLO_CONFIG_DIR := $(CURDIR)/.cache/ultralytics
export YOLO_OFFLINE := 1

.PHONY: venv weights demo demo-trainable serve test test-unit test-integration test-localstack test-e2e lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[predict,train,dev]'
	touch $(STAMP)

venv: $(STAMP)

# A small real YOLO classifier ("ball" / "background") trained offline on generated images (~1 min).
$(WEIGHTS): $(STAMP) demo/weights.py demo/synthetic.py
	$(BIN)/python -m demo.weights --out $(WEIGHTS)

weights: $(WEIGHTS)

# The main job on the embedded default: synthetic videos, the local stack, Label Studio's HTTP calls.
demo: $(WEIGHTS)
	$(BIN)/python -m demo.run

serve: $(WEIGHTS)
	PORT=$(PORT) $(BIN)/python -m devstack.serve

# All tests: unit, integration (moto, then LocalStack), and end to end with a real Label Studio.
test: $(WEIGHTS)
	$(BIN)/ruff check .
	$(BIN)/mypy functions
	bash scripts/label_studio_venv.sh
	bash scripts/localstack_venv.sh
	E2E_REQUIRED=1 $(BIN)/pytest
	bash scripts/with_localstack.sh $(BIN)/pytest -m integration -p no:randomly

test-unit: $(STAMP)
	$(BIN)/pytest -m unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy functions

bench: $(WEIGHTS)
	$(BIN)/python -m benchmarks.embedding
	$(BIN)/python -m benchmarks.predict

clean:
	rm -rf .cache/work .pytest_cache .mypy_cache .ruff_cache
