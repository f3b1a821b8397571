"""Papers whose figures theorylab regenerates (``theorylab reproduce KEY``).

Each module defines ``KEY``, ``TITLE``, ``CITATION`` (BibTeX) and
``reproduce(out_dir, quick=False) -> list[Path]``.
"""

from __future__ import annotations

from importlib import import_module

from theorylab.parameters import ParameterError

_MODULES = {
    "saxe-2014": "papers.saxe_2014",
    "advani-saxe-2017": "papers.advani_saxe_2017",
    "parallel-learning-2023": "papers.parallel_learning_2023",
    "multitasking-2012": "papers.multitasking_2012",
    "rsb-dense-2022": "papers.rsb_dense_2022",
    "dense-hebbian-2023": "papers.dense_hebbian_2023",
    "curl-descent-2025": "papers.curl_descent_2025",
    "continual-learning-2023": "papers.continual_learning_2023",
}
_MODELS = {
    "saxe-2014": ("deep-linear",),
    "advani-saxe-2017": ("generalization-dynamics",),
    "parallel-learning-2023": ("multitasking",),
    "multitasking-2012": ("multitasking",),
    "rsb-dense-2022": ("dense-hopfield",),
    "dense-hebbian-2023": ("dense-hebbian",),
    "curl-descent-2025": ("curl-descent",),
    "continual-learning-2023": ("franz-parisi",),
}
"""The models each recipe draws (known without importing the recipe)."""


def names() -> list[str]:
    """Keys of the registered papers."""
    return list(_MODULES)


def models(key: str) -> tuple[str, ...]:
    """The models recipe ``key`` draws."""
    return _MODELS[key]


def describe(key: str) -> str:
    """The title of the paper behind recipe ``key``."""
    return " ".join(get(key).TITLE.split())


def get(key: str):
    """The paper module registered under ``key``."""
    if key not in _MODULES:
        raise ParameterError(f"paper must be one of {', '.join(_MODULES)} (got {key!r})")
    return import_module(_MODULES[key])
