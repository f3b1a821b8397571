"""Modules imported on first use, so that ``theorylab models`` and ``--help`` start fast.

A model module declares its parameters, phases and lines at import; its numerics (sympy
derivations, xarray, Numba simulators, scipy.stats) are only needed once it computes.
``module("xarray")`` returns the module object at once and executes it on the first attribute
access (:class:`importlib.util.LazyLoader`, the standard library's recipe).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def module(name: str) -> ModuleType:
    """``name`` imported lazily (or the module itself, if it is already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[name] = lazy
    loader.exec_module(lazy)
    return lazy
