"""The model registry: CLI / Python name -> model object, imported on first use."""

from __future__ import annotations

from importlib import import_module

from theorylab.model import Model
from theorylab.parameters import ParameterError

_MODULES = {
    "dense-hopfield": "theorylab.models.dense_hopfield",
    "dense-hebbian": "theorylab.models.dense_hebbian",
    "deep-linear": "theorylab.models.deep_linear",
    "generalization-dynamics": "theorylab.models.generalization_dynamics",
    "multitasking": "theorylab.models.multitasking",
    "curl-descent": "theorylab.models.curl_descent",
    "franz-parisi": "theorylab.models.franz_parisi",
}


def names() -> list[str]:
    """Names of the registered models."""
    return list(_MODULES)


def get(name: str) -> Model:
    """The model called ``name`` (each module defines one ``MODEL``)."""
    if name not in _MODULES:
        raise ParameterError(f"model must be one of {', '.join(_MODULES)} (got {name!r})")
    return import_module(_MODULES[name]).MODEL
