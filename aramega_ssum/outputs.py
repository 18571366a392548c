"""Output folders that never lose a user's work (the one helper every tool writes through).

Rule: a tool writes a folder only when it does not exist, is empty, or holds a previous output of
the SAME tool (its marker file: the build's ``build_report.json``, a run's ``train_log.jsonl``,
evaluate's ``generation.json``, ...) AND the user passed ``--overwrite``. Never the current
directory, one of its ancestors, the home directory or ``/``; never a path that is an existing file.
A replacement is atomic: the new output is written into a hidden sibling, the old one is renamed
aside, the new one renamed into place, then the old one deleted. A failure leaves nothing behind
(the sibling is removed; a folder the tool created is removed). Folders get the umask's permissions.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from aramega_ssum.cli import UsageError


class OutputError(UsageError):
    """An output path the tool refuses to write (the message says why and what to do)."""


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def _protected(resolved: Path) -> str | None:
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    if resolved == Path(resolved.anchor):
        return "the filesystem root"
    if resolved == home:
        return "the home directory"
    if resolved == cwd:
        return "the current directory"
    if resolved in cwd.parents:
        return "an ancestor of the current directory"
    return None


def check_output_dir(path, marker: str, *, tool: str, overwrite: bool = False, option: str = "--output-dir") -> Path:
    """Refuse (OutputError) unless `path` may receive this tool's output; returns it resolved.

    Returns normally for a missing or empty folder, or a previous output (holding `marker`) with
    `overwrite`. `marker` is the file only this tool writes there.
    """
    given = Path(path).expanduser()
    resolved = given.resolve()
    reason = _protected(resolved)
    if reason:
        raise OutputError(f"{option} {given}: refusing to write into {reason}; give a new folder")
    if resolved.exists() and not resolved.is_dir():
        raise OutputError(f"{option} {given}: is an existing file, not a folder; give a new folder")
    if resolved.is_dir() and any(resolved.iterdir()):
        if not (resolved / marker).exists():
            raise OutputError(f"{option} {given}: folder is not empty and is not an earlier {tool} output "
                              f"({marker} missing); nothing was changed; give a new or empty folder")
        if not overwrite:
            raise OutputError(f"{option} {given}: holds an earlier {tool} output ({marker}); pass --overwrite "
                              "to replace it, or give another folder")
    return resolved


def check_output_file(path, *, overwrite: bool = False, option: str = "--output") -> Path:
    """Refuse an existing file (unless `overwrite`) or a folder as a single-file output."""
    given = Path(path).expanduser()
    if given.is_dir():
        raise OutputError(f"{option} {given}: is a folder; give a file name")
    if given.exists() and not overwrite:
        raise OutputError(f"{option} {given}: exists; pass --overwrite to replace it, or give another name")
    return given


def make_dirs(path: Path) -> None:
    """mkdir -p with the umask's permissions (never 0700)."""
    Path(path).mkdir(parents=True, exist_ok=True, mode=_umask_mode())


def swap_into_place(tmp: Path, output: Path) -> None:
    """Move the finished `tmp` folder to `output`; an existing `output` is renamed aside, then deleted."""
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        output.rename(old)
        try:
            tmp.rename(output)
        except OSError:
            old.rename(output)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(output)


def staging_dir(output: Path) -> Path:
    """A new hidden sibling of `output` (same filesystem, so the final rename is atomic)."""
    make_dirs(output.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    os.chmod(tmp, _umask_mode())
    return tmp


@contextlib.contextmanager
def staged_output(path, marker: str, *, tool: str, overwrite: bool = False, option: str = "--output-dir"):
    """Yield a staging folder; on success it replaces `path` atomically; on failure it is removed."""
    output = check_output_dir(path, marker, tool=tool, overwrite=overwrite, option=option)
    tmp = staging_dir(output)
    try:
        yield tmp
        swap_into_place(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
