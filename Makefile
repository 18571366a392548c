# Two entry points: `make demo` and `make test`. Both install what is missing, then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := espeak-ng sox libavcodec59 libavformat59 libavutil57 libswresample4 \
                   libavdevice59 libavfilter8 libswscale6 chromium chromium-driver
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps demo test perf tiny-base clean

install: system-deps $(STAMP)

system-deps:
	@scripts/system_deps.sh $(SYSTEM_PACKAGES)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,audio,ray]'
	@touch $(STAMP)

demo: install
	@test -d aramega-ssum || $(PY) -m builders.build --output-dir aramega-ssum
	$(PY) -m benchmark.run --strategy hybrid

# Re-create the committed embedded base (benchmark/tiny_base/) from the train split; the exact command
# and its loss curve are in benchmark/tiny_base/pretrain.json. Refuses to overwrite: move the old one away first.
tiny-base: install
	@test -d aramega-ssum || $(PY) -m builders.build --output-dir aramega-ssum
	@test -d aramega-ssum-pretrain || $(PY) -m builders.pretraining --data aramega-ssum --output-dir aramega-ssum-pretrain
	$(PY) -m benchmark.pretrain_tiny --data aramega-ssum --extra-data aramega-ssum-pretrain --output-dir benchmark/tiny_base.new

test: install
	$(PY) -m pytest -q

perf: install
	@for script in perf/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) aramega-ssum aramega-ssum-pretrain runs .cache
