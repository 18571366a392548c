"""What every command-line tool of the project shares: one error style, common flags, help layout.

An *expected* error (a bad argument, a missing file, a refused output folder, a corrupt input) is
printed as ONE line ``error: <what, naming the file/line/key/example>`` on stderr and the tool exits
with status 2. ``--debug`` (or the environment variable ``ARAMEGA_DEBUG=1``) also prints the
traceback. Anything else (a bug) keeps Python's traceback and exit status 1. Ctrl-C prints one line
(exit 130); a tool may say more by raising :class:`Interrupted` with its own message.

Every CLI's ``main`` is wrapped by :func:`cli_main`, which is the only place in the project that
turns exceptions into exit statuses::

    @cli_main(BuildError)
    def main(argv=None) -> int: ...

Old option spellings stay accepted for one release through :func:`deprecated`, which warns.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import traceback

log = logging.getLogger(__name__)


class UsageError(ValueError):
    """An expected error a user can fix; printed as one ``error:`` line (exit 2)."""


class Interrupted(Exception):
    """Ctrl-C, with the tool's own one-line message (e.g. the step reached and how to resume)."""


# OSErrors that mean "this path is not what you said" rather than a bug.
EXPECTED_BASE: tuple[type[BaseException], ...] = (
    UsageError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


def debug_enabled(argv=None) -> bool:
    """True with ``--debug`` on the command line or ARAMEGA_DEBUG set to a true value."""
    args = sys.argv[1:] if argv is None else argv
    return "--debug" in args or os.environ.get("ARAMEGA_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def one_line(exc: BaseException) -> str:
    """The message of `exc` on one line (OSError: 'path: reason')."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])  # str(KeyError) adds quotes
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def cli_main(*expected: type[BaseException]):
    """Decorator for ``main(argv=None) -> int``: expected errors -> one ``error:`` line and exit 2."""
    catch = EXPECTED_BASE + tuple(expected)

    def wrap(fn):
        @functools.wraps(fn)
        def main(argv=None) -> int:
            debug = debug_enabled(argv)
            try:
                return fn(argv)
            except Interrupted as exc:
                print(f"interrupted: {one_line(exc)}", file=sys.stderr)
                return 130
            except KeyboardInterrupt:
                if debug:
                    traceback.print_exc()
                print("interrupted (Ctrl-C)", file=sys.stderr)
                return 130
            except catch as exc:
                if debug:
                    traceback.print_exc()
                print(f"error: {one_line(exc)}", file=sys.stderr)
                return 2
        return main
    return wrap


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the docstring's example layout and shows every option's default."""


class Parser(argparse.ArgumentParser):
    """argparse with the project's error line: ``error: <message> (see <prog> --help)``, exit 2."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def make_parser(prog: str, doc: str, **kwargs) -> argparse.ArgumentParser:
    """A Parser whose description is the docstring's first paragraph and epilog the rest."""
    parts = (doc or "").strip().split("\n\n")
    return Parser(prog=prog, description=parts[0], epilog="\n\n".join(parts[1:]) or None,
                                   formatter_class=HelpFormatter, **kwargs)


def add_common(parser: argparse.ArgumentParser) -> None:
    """-v/--verbose, -q/--quiet and --debug (the traceback of expected errors)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="store_true", help="debug-level log messages")
    group.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an expected error "
                        "(also ARAMEGA_DEBUG=1)")


def setup_logging(args: argparse.Namespace, default: int = logging.INFO) -> None:
    """Root logging on stderr at the level -v/-q ask for."""
    level = logging.DEBUG if getattr(args, "verbose", False) else (
        logging.WARNING if getattr(args, "quiet", False) else default)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s", force=True)


class _Deprecated(argparse.Action):
    """Stores like the new option, with a deprecation warning naming the new spelling."""

    def __init__(self, option_strings, dest, new: str = "", real_action: str = "store", **kwargs):
        self.new, self.real = new, real_action
        if real_action in ("store_true", "append"):
            kwargs.setdefault("nargs", 0 if real_action == "store_true" else None)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated (removed in the next release); use {self.new}",
              file=sys.stderr)
        if self.real == "store_true":
            setattr(namespace, self.dest, True)
        elif self.real == "append":
            setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])
        else:
            setattr(namespace, self.dest, values)


def deprecated(parser, old: str, new: str, dest: str, action: str = "store", **kwargs) -> None:
    """Accept the old spelling `old` of option `new` (same dest) for one release, with a warning."""
    parser.add_argument(old, dest=dest, action=_Deprecated, new=new, real_action=action,
                        help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)
