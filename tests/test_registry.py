"""aramega_ssum.registry: names, did-you-mean, package discovery, typed options."""
from __future__ import annotations

import dataclasses

import pytest

from aramega_ssum.registry import Registry, did_you_mean, parse_options


@dataclasses.dataclass(frozen=True)
class Options:
    clusters: int = 8
    ratio: float = 0.5
    stages: tuple[tuple[str, ...], ...] = (("asr",),)
    extra: dict | None = None


def test_registry_names_order_and_unknown_names():
    reg = Registry("widget", order=lambda name, entry: entry)
    reg.add("beta", 0)
    reg.add("alpha", 1)
    reg.add("beta", 0)  # the same entry again is fine
    assert reg.names() == ["beta", "alpha"] and reg.get("alpha") == 1 and "beta" in reg
    with pytest.raises(KeyError, match="unknown widget 'alpah'; did you mean 'alpha'\\? known widgets: beta, alpha"):
        reg.get("alpah")
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("beta", 2)
    assert did_you_mean("zzz", ["alpha"]) == ""


def test_package_registries_find_every_module():
    from aramega_ssum.scheduling import strategy_names
    from builders.items import BuildError
    from builders.sources import SOURCE_FORMATS

    assert {"uniform", "tpc", "ads", "hybrid"} <= set(strategy_names())
    assert strategy_names()[:4] == ["uniform", "tpc", "ads", "hybrid"]
    assert "manifest" in SOURCE_FORMATS.names() and callable(SOURCE_FORMATS.get("manifest"))
    with pytest.raises(BuildError, match="did you mean 'manifest'"):
        SOURCE_FORMATS.get("manifets")


def test_typed_options():
    assert parse_options(Options, None, where="x") == Options()
    got = parse_options(Options, {"clusters": 4, "ratio": 1, "stages": [["asr"], ["ssum", "tsum"]],
                                  "extra": {"a": 1}}, where="x")
    assert got == Options(4, 1.0, (("asr",), ("ssum", "tsum")), {"a": 1}) and isinstance(got.ratio, float)
    with pytest.raises(ValueError, match="x: unknown key 'cluster'; did you mean 'clusters'"):
        parse_options(Options, {"cluster": 4}, where="x")
    with pytest.raises(ValueError, match="known keys: clusters, ratio, stages, extra"):
        parse_options(Options, {"qqq": 4}, where="x")
    with pytest.raises(TypeError, match=r"x\.clusters: expected int, got bool"):
        parse_options(Options, {"clusters": True}, where="x")
    with pytest.raises(TypeError, match=r"x\.stages\[1\]: expected a list"):
        parse_options(Options, {"stages": [["asr"], "ssum"]}, where="x")
    with pytest.raises(TypeError, match=r"x\.extra: expected dict"):
        parse_options(Options, {"extra": [1]}, where="x")
