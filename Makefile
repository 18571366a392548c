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

# uv installs the same versions as pip in half the time (93 s against 183 s into a fresh venv here,
# bytecode compiled as pip does: without it every process compiles torch's and transformers' imports
# again). uv does not read pip's config, so it gets pip's find-links (a local torch CPU wheel) through
# UV_FIND_LINKS. Where uv cannot install (say, an index only pip is configured for), pip does.
export UV_FIND_LINKS ?= $(PIP_FIND_LINKS)
REQUIREMENTS := torch==2.13.0 -e '.[dev,audio,ray]'
# The corpus renders its speech on every core (the built bytes do not depend on the count).
BUILD_CORPUS := $(PY) -m builders.build --output-dir aramega-ssum --num-proc $(shell nproc 2>/dev/null || echo 1)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install -q uv || true
	$(PY) -m uv pip install --python $(PY) --compile-bytecode -q $(REQUIREMENTS) || $(PY) -m pip install -q $(REQUIREMENTS)
	@touch $(STAMP)

demo: install
	@test -d aramega-ssum || $(BUILD_CORPUS)
	$(PY) -m benchmark.run --strategy hybrid

# Re-create the committed embedded base (benchmark/tiny_base/) from the train split, in two stages:
# 12000 steps on clips up to 12 s (about 98 min on one core), then 6000 more from that base with long
# utterances (15-45 train words) and every clip up to 22 s (about 69 min). The exact commands and the
# loss curve are in benchmark/tiny_base/pretrain.json (stage 1 under "init"). Refuses to overwrite:
# move the old folders away first.
LONG_SPEECH := --utterances 3000 --words 15 45 --dialect-share 0
tiny-base: install
	@test -d aramega-ssum || $(BUILD_CORPUS)
	@test -d aramega-ssum-pretrain || $(PY) -m builders.pretraining --data aramega-ssum --output-dir aramega-ssum-pretrain
	@test -d aramega-ssum-pretrain-long1 || $(PY) -m builders.pretraining --data aramega-ssum --output-dir aramega-ssum-pretrain-long1 $(LONG_SPEECH) --seed 1
	@test -d aramega-ssum-pretrain-long2 || $(PY) -m builders.pretraining --data aramega-ssum --output-dir aramega-ssum-pretrain-long2 $(LONG_SPEECH) --seed 2
	$(PY) -m benchmark.pretrain_tiny --data aramega-ssum --extra-data aramega-ssum-pretrain --output-dir benchmark/tiny_base.stage1
	$(PY) -m benchmark.pretrain_tiny --data aramega-ssum --extra-data aramega-ssum-pretrain aramega-ssum-pretrain-long1 \
	    aramega-ssum-pretrain-long2 --init-from benchmark/tiny_base.stage1 --max-audio-seconds 22 --max-steps 6000 \
	    --lr 5e-4 --output-dir benchmark/tiny_base.new

test: install
	$(PY) -m pytest -q

perf: install
	@for script in perf/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) aramega-ssum aramega-ssum-pretrain runs .cache
