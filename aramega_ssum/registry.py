"""One registry helper for everything chosen by name: strategies, source formats, metrics.

    STRATEGIES = Registry("strategy", package="aramega_ssum.scheduling.strategies")
    STRATEGIES.add("uniform", entry)        # usually from a decorator in the strategy's own file
    STRATEGIES.get("unifrom")               # KeyError: unknown strategy 'unifrom'; did you mean 'uniform'? ...
    options = parse_options(UniformConfig, {"temperature": 2}, where="schedule (uniform)")

With `package`, the names are the modules of that package, so dropping a file into the package is
the whole change: every module is imported on the first lookup and registers itself with `add`, or,
with `load`, a module is imported only when its name is looked up and `load(name, module)` is the
entry (source formats: `prepare_<name>`).
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import pkgutil
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Callable


def did_you_mean(name: object, known: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """"did you mean 'x'?" (or "'x' or 'y'") for the known names close to `name`; "" when none is."""
    close = difflib.get_close_matches(str(name), list(known), n=n, cutoff=cutoff)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class Registry:
    """Entries by name; unknown names raise `error` naming the closest known ones."""

    def __init__(self, kind: str, *, package: str | None = None, plural: str | None = None,
                 error: type[Exception] = KeyError, order: Callable[[str, Any], Any] | None = None,
                 load: Callable[[str, types.ModuleType], Any] | None = None):
        self.kind, self.plural = kind, plural or f"{kind}s"
        self.package, self.error, self.order, self.load = package, error, order, load
        self._entries: dict[str, Any] = {}
        self._discovered = False

    def add(self, name: str, entry: Any) -> Any:
        """Register `entry` under `name`; a second, different entry for a name is an error."""
        if name in self._entries and self._entries[name] != entry:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def _modules(self) -> list[str]:
        pkg = importlib.import_module(self.package)
        return [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]

    def _discover(self) -> None:
        """Once: import every module of `package` (each registers itself), or with `load` list them."""
        if self._discovered or self.package is None:
            return
        self._discovered = True
        for name in self._modules():
            if self.load is None:
                importlib.import_module(f"{self.package}.{name}")
            else:
                self._entries.setdefault(name, None)  # loaded on lookup

    def names(self) -> list[str]:
        """Every registered name, in the registry's order (by `order`, then alphabetical)."""
        self._discover()
        names = sorted(self._entries)
        if self.order is not None:
            names.sort(key=lambda n: self.order(n, self._entries[n]))
        return names

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def get(self, name: str, *, cutoff: float = 0.6) -> Any:
        """The entry called `name`, or `error`: "unknown <kind> 'x'; did you mean 'y'? known <kinds>: ..."."""
        if name not in self:
            known = self.names()
            hint = did_you_mean(name, known, n=2, cutoff=cutoff)
            raise self.error(f"unknown {self.kind} {name!r}; {hint + ' ' if hint else ''}"
                             f"known {self.plural}: {', '.join(known)}")
        if self._entries[name] is None and self.load is not None:
            self._entries[name] = self.load(name, importlib.import_module(f"{self.package}.{name}"))
        return self._entries[name]


# ---- typed options ----------------------------------------------------------------------------

def parse_options(cls: type, mapping: Mapping[str, Any] | None, *, where: str) -> Any:
    """Dataclass `cls` from `mapping`; unknown keys and wrong types raise, naming `where`.

    None gives the defaults; an instance of a dataclass passes through unchanged.
    """
    if mapping is None:
        return cls()
    if dataclasses.is_dataclass(mapping):
        return mapping
    names = [f.name for f in dataclasses.fields(cls)]
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in mapping.items():
        if key not in names:
            hint = did_you_mean(key, names)
            raise ValueError(f"{where}: unknown key {key!r}; {hint or 'known keys: ' + ', '.join(names)}")
        values[key] = check_value(value, hints[key], where=f"{where}.{key}")
    return cls(**values)


def check_value(value: Any, hint: Any, *, where: str) -> Any:
    """`value` checked against the type `hint` (int -> float, `X | None`, lists, tuples, generics by
    their container); TypeError naming `where` otherwise. Lists stay lists, tuples become tuples."""
    return _coerce(value, hint, where)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        item = args[0] if args else Any
        items = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if hint is Any:
        return value
    if origin is not None:  # dict[...] and other generics: check the container type only
        hint = origin
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool) or not isinstance(value, hint):
        raise TypeError(f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value
