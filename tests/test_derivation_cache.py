"""The on-disk cache of derivations (:func:`derivations.symbolic.cached_on_disk`).

Equations loaded from the cache must be the derived ones, bit for bit; an entry is reused only
under its full key (source texts, versions, arguments) and a damaged entry is derived afresh.
Every test works in a temporary cache directory (``THEORYLAB_CACHE``).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import sympy as sp

from derivations import dense_hopfield as dh
from derivations import symbolic

calls: list[tuple[int, int]] = []


def square(x: int, offset: int = 0) -> sp.Expr:
    """A stand-in derivation that records its calls."""
    calls.append((x, offset))
    return sp.Integer(x) ** 2 + offset


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("THEORYLAB_CACHE", str(directory))
    calls.clear()
    return directory


def entries(directory):
    return sorted((directory / "derivations").glob("*.pickle"))


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    assert symbolic.cache_directory() == tmp_path / "cache"
    monkeypatch.delenv("THEORYLAB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert symbolic.cache_directory() == tmp_path / "xdg" / "theorylab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert symbolic.cache_directory() == tmp_path / "home" / ".cache" / "theorylab"


def test_a_second_call_loads_the_entry(cache_dir):
    cached = symbolic.cached_on_disk(square)
    assert cached(3) == 9
    assert cached(3, offset=0) == cached(x=3) == 9  # arguments bound, defaults applied
    assert calls == [(3, 0)]
    assert len(entries(cache_dir)) == 1
    assert not list((cache_dir / "derivations").glob("*.tmp"))


def test_other_arguments_are_other_entries(cache_dir):
    cached = symbolic.cached_on_disk(square)
    assert (cached(2), cached(3), cached(3, 1)) == (4, 9, 10)
    assert calls == [(2, 0), (3, 0), (3, 1)]
    assert len(entries(cache_dir)) == 3


@pytest.mark.parametrize("change", ["source", "sympy"])
def test_a_changed_key_does_not_reuse_an_entry(cache_dir, monkeypatch, change):
    symbolic.cached_on_disk(square)(3)
    if change == "source":
        monkeypatch.setattr(symbolic, "_source_digest", lambda module: "edited")
    else:
        monkeypatch.setattr(sp, "__version__", "0.0")
    assert symbolic.cached_on_disk(square)(3) == 9
    assert calls == [(3, 0), (3, 0)]
    assert len(entries(cache_dir)) == 2


def test_an_entry_under_another_key_is_not_reused(cache_dir):
    # Two entries swapped (as by a collision of file names): the stored keys decide.
    cached = symbolic.cached_on_disk(square)
    cached(2)
    cached(3)
    first, second = entries(cache_dir)
    first_bytes, second_bytes = first.read_bytes(), second.read_bytes()
    first.write_bytes(second_bytes)
    second.write_bytes(first_bytes)
    assert cached(3) == 9 and cached(2) == 4
    assert calls == [(2, 0), (3, 0), (3, 0), (2, 0)]


@pytest.mark.parametrize("damage", [b"", b"not a pickle", "truncated", "wrong shape"])
def test_a_corrupt_entry_is_rebuilt(cache_dir, damage):
    cached = symbolic.cached_on_disk(square)
    cached(3)
    (entry,) = entries(cache_dir)
    if damage == "truncated":
        damage = entry.read_bytes()[:-7]
    elif damage == "wrong shape":
        damage = pickle.dumps(sp.Integer(9))
    entry.write_bytes(damage)
    assert cached(3) == 9
    assert calls == [(3, 0), (3, 0)]
    assert cached(3) == 9  # rewritten: loaded again
    assert calls == [(3, 0), (3, 0)]


def test_an_unwritable_cache_still_derives(cache_dir):
    cache_dir.write_text("a file where the directory should be")
    cached = symbolic.cached_on_disk(square)
    assert cached(3) == cached(3) == 9
    assert calls == [(3, 0), (3, 0)]


def _points(eq, seed, n=64):
    rng = np.random.default_rng(seed)
    starts = {"m": (-1, 1), "q": (0.3, 1), "r": (0.5, 3), "C": (0, 0.8)}
    x = np.array([rng.uniform(*starts[v], size=n) for v in eq.variables])
    params = {"alpha": rng.uniform(0.01, 0.2, n)}
    if "T" in eq.parameters:
        params["T"] = rng.uniform(0.3, 2, n)
        i = eq.variables.index("q")
        x[i] = np.maximum(x[i], 1 - 0.5 * params["T"])  # 1 − β(1−q) > 0
    return x, params


@pytest.mark.parametrize("P", [2, 3])
@pytest.mark.parametrize("zero_temperature", [False, True])
def test_cached_dense_hopfield_equations_are_the_derived_ones(cache_dir, monkeypatch, P,
                                                              zero_temperature):
    derived = dh.symbolic_equations(P, zero_temperature)
    assert len(entries(cache_dir)) == 1

    def no_derivation(*args, **kwargs):
        raise AssertionError("derived again instead of loaded")

    monkeypatch.setattr(symbolic, "derive", no_derivation)
    loaded = dh.symbolic_equations(P, zero_temperature)
    assert loaded is not derived
    assert loaded == derived
    fresh, cached = derived.compile(), loaded.compile()
    x, params = _points(fresh, seed=10 * P + zero_temperature)
    for method in ("fixed_point", "stationarity", "free_energy", "energy"):
        np.testing.assert_array_equal(getattr(cached, method)(x, params),
                                      getattr(fresh, method)(x, params))


def test_cached_paramagnet_instability_is_the_derived_one(cache_dir):
    derived = dh.paramagnet_instability(2)
    loaded = dh.paramagnet_instability(2)
    assert loaded is not derived and loaded == derived
    assert dh.paramagnet_instability(3) is None
    assert dh.paramagnet_instability(3) is None
    assert len(entries(cache_dir)) == 2
