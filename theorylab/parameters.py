"""Control parameters of a model: their domains, validation and parsing.

A model declares each parameter once (name, kind, domain, meaning); the CLI's help, its
``key=value`` / ``key=start:stop:num`` parsing and every Python entry point validate against that
declaration, so a bad value is reported in one line that names the parameter and its range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np


class ParameterError(ValueError):
    """A parameter is unknown, malformed or outside its domain (the CLI exits with status 2)."""


@dataclass(frozen=True)
class Parameter:
    """One control parameter of a model.

    Parameters
    ----------
    name
        The name used on the command line and in Python (``alpha``, ``T``, ``P``...).
    description
        Meaning, units and convention, shown by ``theorylab models``.
    kind
        ``"int"``, ``"float"``, ``"floats"`` (a list of floats, e.g. several singular values)
        or ``"choice"`` (one of ``choices``).
    low, high
        The domain; ``low_open`` / ``high_open`` make an end exclusive.
    default
        Value used when the parameter is not given; ``None`` means it is required.
    allow_inf
        Whether ``inf`` is an accepted value (e.g. ``t=inf`` for asymptotic results).
    """

    name: str
    description: str
    kind: str = "float"
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    default: object = None
    allow_inf: bool = False
    choices: tuple[str, ...] = ()

    @property
    def domain(self) -> str:
        """The allowed values in words, e.g. ``an integer >= 2`` or ``a number in (0, 1]``."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        noun = {"int": "an integer", "float": "a number", "floats": "numbers"}[self.kind]
        lo, hi = _fmt(self.low), _fmt(self.high)
        if math.isinf(self.low) and math.isinf(self.high):
            text = noun
        elif math.isinf(self.high):
            text = f"{noun} {'>' if self.low_open else '>='} {lo}"
        elif math.isinf(self.low):
            text = f"{noun} {'<' if self.high_open else '<='} {hi}"
        else:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            text = f"{noun} in {left}{lo}, {hi}{right}"
        if self.allow_inf:
            text += " or inf"
        return text

    def check(self, value: object) -> object:
        """Return ``value`` converted to this parameter's kind, or raise :class:`ParameterError`."""
        if self.kind == "choice":
            if value not in self.choices:
                raise ParameterError(f"{self.name} must be {self.domain} (got {value!r})")
            return value
        if self.kind == "floats":
            items = _split_list(value)
            if not items:
                raise ParameterError(f"{self.name} must be {self.domain} (got an empty list)")
            return tuple(self._check_scalar(v, float) for v in items)
        return self._check_scalar(value, int if self.kind == "int" else float)

    def _check_scalar(self, value: object, kind: type) -> float | int:
        bad = ParameterError(f"{self.name} must be {self.domain} (got {_typed(value)})")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise bad from None
        if math.isnan(number) or (math.isinf(number) and not self.allow_inf):
            raise bad
        if kind is int and not math.isinf(number):
            if isinstance(value, bool) or not number.is_integer():
                raise bad
            number = int(number)
        below = number <= self.low if self.low_open else number < self.low
        above = number >= self.high if self.high_open else number > self.high
        if below or above:
            raise bad
        return number


def _typed(value: object) -> str:
    """A value as the user typed it: an array or tuple as the list ``[0.1, 0.2]``."""
    if isinstance(value, np.ndarray | list | tuple):
        return "[" + ", ".join(_typed(v) for v in np.asarray(value, dtype=object).ravel()) + "]"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:g}"


def _split_list(value: object) -> list:
    if isinstance(value, str):
        return [v for v in value.replace("[", "").replace("]", "").split(",") if v.strip()]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def validate(parameters: Iterable[Parameter], given: Mapping[str, object]) -> dict[str, object]:
    """Check ``given`` against the declared ``parameters`` and fill in defaults.

    Raises
    ------
    ParameterError
        For an unknown name, a missing required parameter, or a value outside its domain.
    """
    declared = {p.name: p for p in parameters}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ParameterError(
            f"unknown parameter {unknown[0]!r}; allowed: {', '.join(declared) or 'none'}"
        )
    values: dict[str, object] = {}
    for name, p in declared.items():
        if name in given:
            values[name] = p.check(given[name])
        elif p.default is not None:
            values[name] = p.default
        else:
            raise ParameterError(f"missing parameter {name}: {p.domain} ({p.description})")
    return values


def values_along(parameter: Parameter, value: object) -> np.ndarray:
    """Checked float values of ``parameter`` from a scalar, sequence, array or comma-separated
    string (a line's ``along`` parameter, a diagram axis)."""
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    values = np.atleast_1d(np.asarray(value, dtype=object))
    if values.size == 0:
        raise ParameterError(f"{parameter.name} needs at least one value")
    return np.array([parameter.check(v) for v in values.ravel()], dtype=float)


def parse_axis(parameter: Parameter, text: str, log: bool = False) -> np.ndarray:
    """Parse ``start:stop:num`` (inclusive, like ``numpy.linspace``; ``numpy.geomspace`` when
    ``log``) into checked values."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ParameterError(f"{parameter.name} range must be start:stop:num (got {text!r})")
    try:
        start, stop = float(parts[0]), float(parts[1])
        num = int(parts[2])
    except ValueError:
        raise ParameterError(
            f"{parameter.name} range must be start:stop:num with an integer num (got {text!r})"
        ) from None
    if num < 1:
        raise ParameterError(f"{parameter.name} range needs num >= 1 (got {text!r})")
    for v in (start, stop):
        parameter.check(v)
    if log:
        if start <= 0 or stop <= 0:
            raise ParameterError(f"{parameter.name} is a logarithmic axis: its range needs "
                                 f"start > 0 and stop > 0 (got {text!r})")
        values = np.geomspace(start, stop, num)
    else:
        values = np.linspace(start, stop, num)
    if parameter.kind == "int":
        return np.unique(np.round(values).astype(int))
    return values
