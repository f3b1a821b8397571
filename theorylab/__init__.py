"""theorylab: replica theory and learning dynamics of neural networks, checked by simulation.

The public API (DESIGN.md, "The public surface")::

    import theorylab as tl
    tl.models()                                              # descriptions of every model
    tl.solve("dense-hopfield", P=2, alpha=0.05, T=0.1)       # the thermodynamic state
    tl.branches("dense-hopfield", P=2, alpha=0.05, T=0.1)    # every solution found
    tl.line("dense-hopfield", "retrieval-spinodal", P=2, T=[0, 0.1])
    tl.diagram("dense-hopfield", P=2, alpha=(0, 0.2, 41), T=(0, 1.5, 31))   # xarray.Dataset
    tl.cut("dense-hopfield", "T", numpy.linspace(0, 1.2, 121), P=2, alpha=0.05)  # branches
    tl.simulate("dense-hopfield", P=2, N=2000, alpha=0.05, T=0.1, seeds=8)
    tl.verify("dense-hopfield", quick=True)
"""

from __future__ import annotations

import numpy as np

from theorylab import models as _registry
from theorylab.parameters import ParameterError
from theorylab.results import (
    Line,
    SimulationResult,
    Solution,
    Verification,
    package_version,
)

__version__ = package_version()


def models() -> list[dict]:
    """Every model: parameters with domains, order parameters, phases and lines."""
    return [_registry.get(name).describe() for name in _registry.names()]


def solve(model: str, phase: str | None = None, **params) -> Solution:
    """The thermodynamic state (or ``phase``'s branch) of ``model`` at one point."""
    return _registry.get(model).solve(phase=phase, **params)


def branches(model: str, **params) -> list[Solution]:
    """Every distinct converged branch at one point."""
    return _registry.get(model).branches(**params)


def line(model: str, name: str, **params) -> Line:
    """A named transition line; its ``along`` parameter may be a list or array."""
    return _registry.get(model).line(name, **params)


def diagram(model: str, *, executor=None, store=None, progress: bool = False, **params):
    """A phase diagram as an ``xarray.Dataset``.

    Two control parameters are given as arrays or ``(start, stop, num)`` tuples (inclusive,
    like ``numpy.linspace``, or ``numpy.geomspace`` on the model's ``log_axes``): the diagram's
    axes (the model's ``diagram_axes`` by default); the other parameters are fixed values.
    """
    m = _registry.get(model)
    ranged = [k for k, v in params.items()
              if (isinstance(v, tuple) and len(v) == 3) or np.ndim(v) > 0]
    order = [*m.diagram_axes, *(p.name for p in m.parameters)]
    if len(ranged) != 2 or any(k not in order for k in ranged):
        raise ParameterError(f"diagram needs two parameters as (start, stop, num) or arrays, "
                             f"e.g. {' and '.join(m.diagram_axes)} (got {ranged})")
    axes = {}
    for name in sorted(ranged, key=order.index):
        value = params.pop(name)
        spacing = np.geomspace if name in m.log_axes else np.linspace
        axes[name] = (spacing(*value) if isinstance(value, tuple) and len(value) == 3
                      else np.asarray(value, dtype=float))
        if m.parameter(name).kind == "int":  # as the CLI's ranges: rounded, each value once
            axes[name] = np.unique(np.round(axes[name]))
        if axes[name].size < 2:
            raise ParameterError(f"{name} needs two values or more (for one, use cut)")
        for v in axes[name]:
            m.parameter(name).check(float(v))
    return m.diagram(axes, params, executor=executor, store=store, progress=progress)


def cut(model: str, axis: str, values, **params):
    """Every branch along a one-dimensional cut of ``axis`` (an ``xarray.Dataset``)."""
    return _registry.get(model).cut(axis, np.asarray(values, dtype=float), **params)


def simulate(model: str, seeds: int = 8, seed: int = 0, **params) -> SimulationResult:
    """Simulate ``model`` at one point with ``seeds`` independent runs."""
    return _registry.get(model).simulate(seeds=seeds, seed=seed, **params)


def verify(model: str, quick: bool = True) -> Verification:
    """The model's theory-vs-simulation table."""
    return _registry.get(model).verify(quick=quick)


__all__ = ["ParameterError", "__version__", "branches", "cut", "diagram", "line", "models",
           "simulate", "solve", "verify"]


def __dir__() -> list[str]:
    """The public API only (``dir(theorylab)``)."""
    return sorted(__all__)
