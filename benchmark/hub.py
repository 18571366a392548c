"""Where a model's files are and which version they are: hub ids, local folders, the tiny model.

`resolve_model(name)` -> `ModelSource(name, path, revision, kind)`:

- a local folder: used as is; `revision` = ``sha256:<hex>``, a content hash of its ``config.json``,
  ``*.safetensors`` and ``model.safetensors.index.json`` (names and bytes);
- a hub id (``Qwen/Qwen2.5-Omni-7B``): the snapshot in the Hugging Face cache, downloaded when
  missing and the network allows (this module never sets ``HF_HUB_OFFLINE``: the user, the Makefile
  or the tests do); `revision` = the snapshot's commit sha. With no network and no cached copy it
  raises `ModelNotFoundError` with one line naming the model and the ``hf download`` command.

The tiny model's folder (`benchmark.tiny_model.build_tiny`) is a local folder whose revision is
``tiny-<its cache key>``.
"""
from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# what a Qwen2.5-Omni checkpoint needs locally (weights, configs, tokenizer, processor, chat template, speakers)
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.pt", "*.model", "tokenizer*"]
HASHED = ("config.json", "model.safetensors.index.json")


class ModelNotFoundError(FileNotFoundError):
    """A model that is neither a local folder nor a hub repository available here (message: one line)."""


@dataclass(frozen=True)
class ModelSource:
    name: str  # as given: "tiny", a hub id or a path
    path: Path  # the local folder holding the files
    revision: str  # snapshot sha (hub), sha256:<content hash> (folder), tiny-<key> (tiny)
    kind: str  # "tiny" | "hub" | "local"


def content_sha256(folder: Path) -> str:
    """sha256 over the names and bytes of a checkpoint folder's config and weight files."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.name in HASHED or p.name.endswith(".safetensors"))
    if not files:
        raise ModelNotFoundError(f"{folder}: no config.json or *.safetensors to load")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def resolve_model(name: str) -> ModelSource:
    """The local folder and revision of a local path or hub id (see the module docstring); cached per process."""
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(name, path, f"sha256:{content_sha256(path)}", "local")
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ModelNotFoundError(f"model {name!r}: no such folder, and not a hub id of the form ORG/NAME")
    folder = _snapshot(name)
    return ModelSource(name, folder, folder.name, "hub")


def _snapshot(repo_id: str) -> Path:
    """The cached (or freshly downloaded) snapshot folder of `repo_id`."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS))
    except HFValidationError as err:
        raise ModelNotFoundError(f"model {repo_id!r}: not a valid hub id ({err})") from None
    except Exception as err:  # offline, no network, gated, no such repo: all end here
        why = type(err).__name__
        raise ModelNotFoundError(
            f"model {repo_id} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and could not be "
            f"downloaded ({why}); fetch it with `hf download {repo_id}` (or set HF_HOME to a cache that has it)"
        ) from None
    logger.info("%s: snapshot %s", repo_id, folder)
    return folder


__all__ = ["ModelSource", "ModelNotFoundError", "resolve_model", "content_sha256"]
