# Every target but `install` uses the virtual environment at .venv, built from uv.lock.
# CI calls these targets verbatim (.ci/run).

UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
# The batch pipelines' environment (Apache Beam), locked apart in batch/uv.lock: Beam's pins
# (protobuf < 7, python-dateutil < 3) are not the function bundle's.
BATCH_BIN := batch/.venv/bin
UV := .cache/uv/bin/uv
FIRESTORE_EMULATOR := infra/firestore-emulator
CHECKOV := .cache/checkov/bin/checkov

.PHONY: install batch chromium demo demo-rescore dev test test-unit test-integration test-browser lint format requirements bench models screenshots clean

install: $(BIN)/catalogist $(BATCH_BIN)/python $(FIRESTORE_EMULATOR)/node_modules/.package-lock.json $(CHECKOV) chromium

$(UV):
	python3 -m venv .cache/uv
	.cache/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Exactly what uv.lock says; --frozen refuses to touch a stale lock instead of re-resolving.
# --compile-bytecode writes the .pyc files up front, as pip does when Cloud Functions builds the
# bundle: without them every fresh process compiles its imports again (1.9 s instead of 0.9 s
# to import functions/main.py here, see bench/bench_photos.py). The default groups (stack, train,
# dev): the gpu group is the trainer image's CUDA wheels, gigabytes no machine without a GPU wants.
$(BIN)/catalogist: $(UV) uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --compile-bytecode --python python3
	touch $@

# The local runner's environment: exactly batch/uv.lock, the runtime package from this checkout
# (editable, so the pipelines run the function's code as it is). The Dataflow image adds the
# `dataflow` extra (batch/Dockerfile).
batch: $(BATCH_BIN)/python

$(BATCH_BIN)/python: $(UV) batch/uv.lock batch/pyproject.toml pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python python3 --project batch
	touch $@

$(FIRESTORE_EMULATOR)/node_modules/.package-lock.json: $(FIRESTORE_EMULATOR)/package-lock.json
	cd $(FIRESTORE_EMULATOR) && npm ci --no-audit --no-fund --loglevel=error

# checkov (the Terraform tests) in an environment of its own, from its hash-pinned closure: its
# own pins (packaging<24, …) must not decide the function bundle's.
$(CHECKOV): $(UV) infra/checkov/requirements.txt
	$(UV) venv --quiet --python python3 .cache/checkov
	$(UV) pip install --quiet --python .cache/checkov/bin/python --require-hashes -r infra/checkov/requirements.txt
	touch $@

# The panel's browser tests drive Debian's Chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		apt-get install -y -qq chromium >/dev/null; } || \
		echo "Chromium is missing and cannot be installed without root: apt-get install chromium (browser tests need it)"

# The main job: the local stack on a real example.
demo: install
	$(BIN)/catalogist demo

# The second act, on the demo's stack: a second release published and the catalogue re-scored
# with it (catalogist demo --rescore; docs/batch.md).
demo-rescore: install
	$(BIN)/catalogist demo --rescore

# The reference releases in models/, rebuilt with the commands their manifests name (the
# classifier takes about an hour on 2 cores).
models: install
	$(BIN)/python -m catalogist_infra.rebuild_models

# The panel's pictures in the README, from the demo's data.
screenshots: install
	$(BIN)/catalogist demo --screenshots docs

dev: install
	$(BIN)/catalogist dev up

# Two workers, one a core. A third fills the waits when another job shares the machine (408.6 s
# against 479.0 s of pytest beside a training) but costs CPU when nothing does: 375.5 s against
# 366.7 s for the same tree in fresh clones with the machine to itself (docs/experiments.md).
test: install
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder

test-unit: install
	$(BIN)/python -m pytest tests/unit

test-integration: install
	$(BIN)/python -m pytest -m integration

test-browser: install
	$(BIN)/python -m pytest -m browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The function bundle's pinned runtime dependencies, exported from the lock file.
requirements: $(UV)
	$(UV) export --frozen --no-default-groups --no-emit-project --no-hashes --no-header \
		--format requirements-txt -o functions/requirements.txt >/dev/null

# Every script in bench/ at its real size, one after another (about an hour on 2 cores), into one
# dated page, docs/bench.md: the figures the README and docs/ quote, with the machine and its load.
bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) batch/.venv .cache .catalogist $(FIRESTORE_EMULATOR)/node_modules
