"""Result containers: a solved state, a line, a simulation, a verification table.

Every container is frozen and says how it was obtained (converged, residual, iterations,
message, settings), in the spirit of :class:`scipy.optimize.OptimizeResult`. Each has ``to_dict``
giving the JSON contract of ``DESIGN.md``. Diagrams are :class:`xarray.Dataset` objects, written to
netCDF with their provenance in ``attrs`` by :func:`save_dataset`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np


def package_version() -> str:
    """The installed theorylab version (``"unknown"`` when run from an uninstalled tree)."""
    try:
        return metadata.version("theorylab")
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance(argv: list[str] | None = None) -> dict[str, str]:
    """The exact command and the versions that produced a result.

    ``argv`` are the ``theorylab`` command's arguments; without them, this process's command
    line is recorded.
    """
    versions = {"theorylab": package_version(), "python": platform.python_version()}
    for name in ("numpy", "scipy", "sympy", "numba", "xarray"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    command = shlex.join(["theorylab", *argv]) if argv is not None else shlex.join(sys.argv)
    return {"command": command, "versions": json.dumps(versions)}


def _jsonable(x: object) -> object:
    """Floats for JSON: inf/nan become the strings "inf", "-inf", "nan"."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):  # numpy scalar
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def dumps(obj: Mapping) -> str:
    """Serialise a result dictionary to strict JSON (no bare NaN / Infinity)."""
    return json.dumps(_jsonable(obj), indent=2)


@dataclass(frozen=True)
class Solution:
    """One solved state of a model at fixed control parameters.

    Attributes
    ----------
    model, parameters
        What was solved.
    order_parameters
        Name -> value (equilibrium: overlaps such as ``m``, ``q``; dynamics: observables such
        as ``u`` or ``E_g`` at the requested time).
    free_energy
        Free energy per spin in the model's convention (``None`` where the model has none).
    phase
        The phase this state belongs to (``None`` where the model has no phases).
    converged, residual, iterations, message
        How the state was obtained: the undamped fixed-point residual max|F(x) - x| (or the
        quadrature error estimate of a closed form), iterations used, a one-line account.
    stable
        Local stability (``None`` where undefined): spectral radius of the Jacobian of the
        fixed-point map below one.
    energy
        Internal energy per spin, d(beta f)/d(beta), where defined.
    """

    model: str
    parameters: Mapping[str, object]
    order_parameters: Mapping[str, float]
    free_energy: float | None
    phase: str | None
    converged: bool
    residual: float
    iterations: int
    stable: bool | None = None
    message: str = ""
    energy: float | None = None
    extras: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The ``solve --json`` contract of DESIGN.md."""
        out = {
            "model": self.model,
            "parameters": dict(self.parameters),
            "phase": self.phase,
            "order_parameters": dict(self.order_parameters),
            "free_energy": self.free_energy,
            "energy": self.energy,
            "converged": self.converged,
            "residual": self.residual,
            "iterations": self.iterations,
            "stable": self.stable,
            "message": self.message,
            "version": package_version(),
        }
        out.update(self.extras)
        return out

    def __str__(self) -> str:
        ops = ", ".join(f"{k}={v:.6g}" for k, v in self.order_parameters.items())
        f = "n/a" if self.free_energy is None else f"{self.free_energy:.8g}"
        head = f"{self.model} {dict(self.parameters)}: phase={self.phase} {ops} f={f}"
        if self.extras.get("undefined"):  # no equation to solve: nothing to report but why
            return f"{head} [undefined] {self.message}"
        status = "converged" if self.converged else "NOT CONVERGED"
        return (f"{head} [{status}, residual={self.residual:.1e}, {self.iterations} it, "
                f"stable={self.stable}] {self.message}")


@dataclass(frozen=True)
class Line:
    """A transition line: the control-parameter points at which it is crossed.

    ``points`` is a tuple of dicts, each giving every control parameter at the crossing (e.g.
    ``{"T": 0.0, "alpha": 0.1379}``) and, where useful, the order parameters there. Points the
    locator could not find are kept with ``"found": False`` rather than dropped.
    """

    model: str
    line: str
    kind: str
    parameters: Mapping[str, object]
    points: tuple[Mapping[str, object], ...]
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        """The ``line --json`` contract of DESIGN.md."""
        return {
            "model": self.model,
            "line": self.line,
            "kind": self.kind,
            "parameters": dict(self.parameters),
            "points": [dict(p) for p in self.points],
            "message": self.message,
            "version": package_version(),
        }


def mean_and_stderr(values, axis: int = 0):
    """Mean over independent runs along ``axis`` and its standard error std(ddof=1)/sqrt(n);
    with a single run the error is unknown: NaN; with none, both are NaN."""
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    if n == 0:
        empty = np.full(np.delete(values.shape, axis), np.nan)
        return empty, empty.copy()
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, values.std(axis=axis, ddof=1) / np.sqrt(n)


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo / simulation estimate: mean and standard error over independent runs."""

    mean: float
    stderr: float

    @classmethod
    def from_samples(cls, values) -> Estimate:
        """The estimate from one value per independent run (:func:`mean_and_stderr`)."""
        mean, stderr = mean_and_stderr(values)
        return cls(float(mean), float(stderr))

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "stderr": self.stderr}


@dataclass(frozen=True)
class SimulationResult:
    """Observables of a simulation averaged over independent chains / seeds.

    ``parameters`` holds what was asked for and what was realised (e.g. the integer number of
    patterns K and the effective load K / N^(P-1)); ``settings`` how (sweeps, burn-in, seed).
    """

    model: str
    parameters: Mapping[str, object]
    observables: Mapping[str, Estimate]
    seeds: int
    sweeps: int
    settings: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The ``simulate --json`` contract of DESIGN.md."""
        return {
            "model": self.model,
            "parameters": dict(self.parameters),
            "observables": {k: v.to_dict() for k, v in self.observables.items()},
            "seeds": self.seeds,
            "sweeps": self.sweeps,
            "settings": dict(self.settings),
            "version": package_version(),
        }


@dataclass(frozen=True)
class Comparison:
    """One row of a theory-vs-simulation table.

    ``agree`` is ``|theory - simulation| <= n_sigma * stderr + allowance``, where ``allowance`` is
    the model's stated finite-size (or discretisation) allowance for that quantity.
    """

    point: Mapping[str, object]
    quantity: str
    theory: float
    simulation: float
    stderr: float
    allowance: float
    n_sigma: float = 3.0

    @property
    def agree(self) -> bool:
        return bool(
            abs(self.theory - self.simulation) <= self.n_sigma * self.stderr + self.allowance
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "point": dict(self.point),
            "quantity": self.quantity,
            "theory": self.theory,
            "simulation": self.simulation,
            "stderr": self.stderr,
            "allowance": self.allowance,
            "agree": self.agree,
        }


@dataclass(frozen=True)
class Verification:
    """A theory-vs-simulation table (``theorylab verify``)."""

    model: str
    rows: tuple[Comparison, ...]

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.agree for r in self.rows)

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "rows": [r.to_dict() for r in self.rows],
            "passed": self.passed,
            "version": package_version(),
        }

    def table(self) -> str:
        """A plain-text table: point, quantity, theory, simulation ± stderr, the finite-size
        allowance, |theory - simulation| in standard errors, agree."""
        points = [" ".join(f"{k}={v:g}" if isinstance(v, float | int) else f"{k}={v}"
                           for k, v in r.point.items()) for r in self.rows]
        width = max([len("point"), *map(len, points)])
        lines = [f"{'point':<{width}} {'quantity':<8} {'theory':>10} {'simulation':>22} "
                 f"{'allowance':>9} {'|Δ|/σ':>6} {'agree':>5}"]
        for point, r in zip(points, self.rows, strict=True):
            sim = f"{r.simulation:.5f} ± {r.stderr:.5f}"
            sigmas = abs(r.theory - r.simulation) / r.stderr if r.stderr > 0 else math.inf
            lines.append(f"{point:<{width}} {r.quantity:<8} {r.theory:>10.5f} {sim:>22} "
                         f"{r.allowance:>9.5f} {sigmas:>6.1f} {'yes' if r.agree else 'NO':>5}")
        lines.append("PASSED" if self.passed else "FAILED")
        return "\n".join(lines)


def save_dataset(ds, out_dir: str | os.PathLike, stem: str) -> Path:
    """Write an ``xarray.Dataset`` to ``out_dir/stem.nc`` atomically (temp file, then rename)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.nc"
    tmp = out / f".{stem}.nc.tmp"
    ds.to_netcdf(tmp, engine="scipy")
    os.replace(tmp, path)
    return path


def writable_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check, before any work, that ``path`` is a folder results can be written into.

    It may not exist yet, but then its parent must. A file in its place, a missing parent or a
    folder this process cannot write in (tried by creating and removing a temporary file, so
    read-only file systems and permissions are both caught) raise :class:`ParameterError`.
    """
    import tempfile

    from theorylab.parameters import ParameterError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{option} {path} is an existing file: give a folder")
    folder = path if path.exists() else path.parent
    if not folder.is_dir():
        raise ParameterError(f"{option} {path}: its parent folder {folder} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ParameterError(f"{option} {path}: cannot write in {folder} "
                             f"({err.strerror or err})") from None
    return path


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    """A table as CSV text; floats with 10 significant digits."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[f"{v:.10g}" if isinstance(v, float) else v for v in row]
                      for row in rows])
    return buffer.getvalue()


def points_csv(points: list[Mapping[str, object]]) -> str:
    """Points (dicts of the same keys, e.g. a line's) as CSV, one row each."""
    keys = list(dict.fromkeys(k for p in points for k in p))
    return csv_text(keys, [["" if p.get(k) is None else p.get(k) for k in keys] for p in points])


def diagram_lines(ds) -> list[dict[str, object]]:
    """The traced lines of a diagram dataset: for each its name, kind and segments, each
    segment its points in order (the two axes' values, whether the point is on the line) and
    its ends (where and why it ends)."""
    xname, yname = ds.attrs["axes"].split(",")
    names = [n for n in ds.attrs.get("lines", "").split(",") if n]
    kinds = [k for k in ds.attrs.get("line_kinds", "").split(",") if k]
    out = []
    for name, kind in zip(names, kinds, strict=True):
        ends = json.loads(ds.attrs.get(f"{name}__segments", "[]"))
        segment = ds[f"{name}__segment"].values
        segments = []
        for k, info in enumerate(ends):
            at = segment == k
            points = [{xname: float(a), yname: float(b), "found": bool(f)} for a, b, f in
                      zip(ds[f"{name}__{xname}"].values[at], ds[f"{name}__{yname}"].values[at],
                          ds[f"{name}__found"].values[at], strict=True)]
            segments.append({**info, "points": points})
        out.append({"line": name, "kind": kind, "segments": segments})
    return out


def lines_csv(lines: list[dict[str, object]], axes: list[str]) -> str:
    """:func:`diagram_lines` as long-format CSV: line, kind, segment, the two axes, found."""
    rows = [[line["line"], line["kind"], k, p[axes[0]], p[axes[1]], int(p["found"])]
            for line in lines for k, seg in enumerate(line["segments"]) for p in seg["points"]]
    return csv_text(["line", "kind", "segment", *axes, "found"], rows)
