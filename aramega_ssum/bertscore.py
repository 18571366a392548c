"""BERTScore F1 with bert-score on an explicitly configured model: a local directory or a hub id.

No language default and no silent fallback (bert-score's ``lang="ar"`` quietly picks
bert-base-multilingual-cased). When the model cannot be loaded, the result is ``None`` plus the
reason, never 0.0. A hub id is looked up in the local cache first; with ``HF_HUB_OFFLINE=1`` a
missing model is reported at once instead of retrying the network. Texts are normalized with
`aramega_ssum.text.normalize` like every other metric. No baseline rescaling (bert-score has no
Arabic baseline).
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np

from aramega_ssum.text import normalize

log = logging.getLogger(__name__)

_MODEL_FILES = ["*.json", "*.txt", "*.model", "*.safetensors", "pytorch_model.bin", "tokenizer*", "vocab*", "merges*"]


class BertScoreUnavailable(RuntimeError):
    """The configured BERTScore model cannot be used; the message says why."""


def _hub_offline() -> bool:
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def resolve_model(model: str) -> str:
    """A local directory holding `model`: the directory itself, the HF cache, or a download."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    if Path(model).expanduser().exists() or model.startswith((".", "/", "~")):
        raise BertScoreUnavailable(f"{model!r} is not a model directory")
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model, allow_patterns=_MODEL_FILES, local_files_only=True)
    except Exception:  # noqa: BLE001 - any miss means "not cached"
        if _hub_offline():
            raise BertScoreUnavailable(
                f"model {model!r} is not a local directory and not in the Hugging Face cache, "
                "and HF_HUB_OFFLINE=1 forbids downloading it") from None
    try:
        return snapshot_download(model, allow_patterns=_MODEL_FILES)
    except Exception as exc:  # noqa: BLE001
        raise BertScoreUnavailable(f"cannot download model {model!r}: {_first_line(exc)}") from None


def _layer_for(model: str, path: str, layer: int | None) -> int:
    import json

    config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    depth = config.get("num_hidden_layers") or config.get("n_layer") or config.get("num_layers")
    if layer is None:
        from bert_score.utils import model2layers

        if model not in model2layers:
            raise BertScoreUnavailable(f"no layer given for model {model!r}: pass a layer (--bertscore-layer)")
        layer = model2layers[model]
    if depth is not None and not 1 <= layer <= int(depth):
        raise BertScoreUnavailable(f"layer {layer} out of range for model {model!r} with {depth} layers")
    return int(layer)


@functools.lru_cache(maxsize=2)
def _scorer(model: str, layer: int | None, device: str):
    path = resolve_model(model)
    num_layers = _layer_for(model, path, layer)
    try:
        from bert_score import BERTScorer

        scorer = BERTScorer(model_type=path, num_layers=num_layers, device=device, batch_size=32)
    except Exception as exc:  # noqa: BLE001 - any load failure becomes a reported reason
        raise BertScoreUnavailable(f"cannot load BERTScore model {model!r}: {_first_line(exc)}") from None
    log.info("BERTScore model %s (layer %d) loaded from %s", model, num_layers, path)
    return scorer


def bertscore_f1(references: list[str], predictions: list[str], *, model: str | None,
                 layer: int | None = None, device: str = "cpu") -> tuple[np.ndarray | None, str | None]:
    """Per-example BERTScore F1 (array) and None, or None and the reason it is not computable."""
    if not model:
        return None, ("no BERTScore model configured: pass a hub id or local model directory "
                      "(--bertscore-model) and its layer (--bertscore-layer)")
    try:
        scorer = _scorer(model, layer, device)
        _, _, f1 = scorer.score([normalize(p) for p in predictions], [normalize(r) for r in references])
    except BertScoreUnavailable as exc:
        log.warning("BERTScore not computed: %s", exc)
        return None, str(exc)
    return f1.detach().cpu().numpy().astype(np.float64), None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
