"""What a model is, for the engine, the Python API and the command line.

A model is *data for the engine*: it declares its control parameters (with domains), the names of
its order parameters / observables, its phases and its named lines, and implements a handful of
methods in terms of the generic engine (``saddle``, ``continuation``, ``phases``) or, for learning
dynamics, in terms of observables along a trajectory. The CLI and :mod:`theorylab` only ever call
the methods below, so adding a model never touches them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from theorylab.parameters import Parameter, ParameterError, validate
from theorylab.results import Line, SimulationResult, Solution, Verification


@dataclass(frozen=True)
class LineInfo:
    """A named line of a model.

    Attributes
    ----------
    kind
        ``"spinodal"`` (a branch ends), ``"first-order"`` (free energies cross),
        ``"continuous"`` (an order parameter or a stability eigenvalue goes to zero),
        ``"entropy"`` (a branch's entropy crosses zero: where an approximation stops being
        admissible), ``"at"`` (a branch's AT eigenvalue crosses one: replica symmetry breaks),
        ``"level"`` (an observable of a branch reaches a given value), or ``"time"`` (a
        characteristic time along a trajectory, for dynamics models).
    description
        What the line is, with the paper's equation.
    along
        The control parameter that may be given as a list / range; the line is located in the
        other one (``solves_for``).
    solves_for
        The control parameter the locator finds (e.g. ``alpha`` at given ``T``).
    """

    kind: str
    description: str
    along: str | None
    solves_for: str


class Model:
    """Base class of every model. Subclasses fill the class attributes and the methods.

    Class attributes
    ----------------
    name : str
        CLI / Python name (``dense-hopfield``).
    title : str
        One-line description.
    parameters : tuple of Parameter
        Control parameters of the theory.
    simulation_parameters : tuple of Parameter
        Extra parameters of the simulator (system size ``N``, sweeps, ...).
    order_parameters : tuple of str
        Names reported in :attr:`Solution.order_parameters`.
    phases : Mapping[str, str]
        Phase name -> description (empty for dynamics models).
    lines : Mapping[str, LineInfo]
    citations : tuple of str
        BibTeX entries of the papers whose results are used.
    diagram_axes : tuple of str
        The two control parameters a diagram spans, (x, y).
    log_axes : tuple of str
        Diagram axes whose ``start:stop:num`` ranges are spaced logarithmically (e.g. time).
    presets : Mapping[str, Mapping[str, str]]
        Named diagram settings (``key -> value or start:stop:num``), for ``--preset``.
    """

    name: str = ""
    title: str = ""
    parameters: tuple[Parameter, ...] = ()
    simulation_parameters: tuple[Parameter, ...] = ()
    order_parameters: tuple[str, ...] = ()
    phases: Mapping[str, str] = {}
    lines: Mapping[str, LineInfo] = {}
    citations: tuple[str, ...] = ()
    diagram_axes: tuple[str, str] = ("", "")
    log_axes: tuple[str, ...] = ()
    presets: Mapping[str, Mapping[str, str]] = {}

    # --- parameters ---------------------------------------------------------------------------
    def parameter(self, name: str) -> Parameter:
        """The declaration of one control or simulation parameter."""
        for p in (*self.parameters, *self.simulation_parameters):
            if p.name == name:
                return p
        allowed = ", ".join(p.name for p in (*self.parameters, *self.simulation_parameters))
        raise ParameterError(f"unknown parameter {name!r}; allowed: {allowed}")

    def validate(self, given: Mapping[str, object]) -> dict[str, object]:
        """Checked control parameters with defaults filled in."""
        return validate(self.parameters, given)

    def check_phase(self, phase: str | None) -> None:
        if phase is not None and phase not in self.phases:
            raise ParameterError(
                f"phase must be one of {', '.join(self.phases) or 'none'} (got {phase!r})"
            )

    def check_line(self, name: str) -> LineInfo:
        if name not in self.lines:
            raise ParameterError(f"line must be one of {', '.join(self.lines)} (got {name!r})")
        return self.lines[name]

    # --- the theory ---------------------------------------------------------------------------
    def solve(self, phase: str | None = None, **params) -> Solution:
        """The thermodynamic state (or the requested phase's branch) at one point."""
        raise NotImplementedError

    def branches(self, **params) -> list[Solution]:
        """Every distinct solution found from every phase's start (one point)."""
        return [self.solve(**params)]

    def line(self, name: str, **params) -> Line:
        """Locate a named line; the parameter ``lines[name].along`` may be a sequence."""
        raise NotImplementedError

    def check_axes(self, names: Sequence[str]) -> None:
        """Raise :class:`ParameterError` if a diagram cannot span ``names`` (called before
        anything is written; every plane of the parameters is allowed by default)."""

    def diagram(self, axes: Mapping[str, Sequence[float]], fixed: Mapping[str, object],
                *, executor=None, store=None, progress: bool = False):
        """A labelled ``xarray.Dataset`` over the two ``diagram_axes``."""
        raise NotImplementedError

    def plot_diagram(self, dataset, path) -> list:
        """Draw a diagram dataset (with its lines) to ``path`` in every format of
        :func:`theorylab.plot.options` (its suffix replaced); the paths written."""
        raise NotImplementedError

    # --- the independent check ----------------------------------------------------------------
    def simulate(self, seeds: int = 8, seed: int = 0, progress: bool = False,
                 **params) -> SimulationResult:
        """Simulate at one point; observables averaged over ``seeds`` independent runs."""
        raise NotImplementedError

    def verify(self, quick: bool = True, progress: bool = False) -> Verification:
        """Theory against simulation at the model's verification points."""
        raise NotImplementedError

    # --- description --------------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        """Parameters with domains, phases and lines (``theorylab models --json``)."""
        return {
            "name": self.name,
            "title": self.title,
            "parameters": {p.name: {"domain": p.domain, "description": p.description,
                                    "default": p.default} for p in self.parameters},
            "simulation_parameters": {p.name: {"domain": p.domain, "description": p.description,
                                               "default": p.default}
                                      for p in self.simulation_parameters},
            "order_parameters": list(self.order_parameters),
            "phases": dict(self.phases),
            "lines": {k: {"kind": v.kind, "description": v.description, "along": v.along,
                          "solves_for": v.solves_for} for k, v in self.lines.items()},
            "presets": {k: dict(v) for k, v in self.presets.items()},
            "papers": [_reference(c) for c in self.citations],
        }


def _reference(bibtex: str) -> str:
    """``First author et al. (year), title [arXiv id]`` from a BibTeX entry."""
    def field(name: str) -> str:
        match = re.search(name + r"\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", bibtex)
        return " ".join(match.group(1).replace("{", "").replace("}", "").split()) if match else ""

    authors = field("author").split(" and ")
    first = authors[0].split(",")[0].strip()
    who = first + (" et al." if len(authors) > 2 else f" and {authors[1].split(',')[0].strip()}"
                   if len(authors) == 2 else "")
    eprint = field("eprint")
    return f"{who} ({field('year')}), {field('title')}" + (f", arXiv {eprint}" if eprint else "")
