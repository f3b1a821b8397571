"""``python -m benchmarks [--json] [--quick] [--only SECTION]``: theorylab's throughput benchmarks.

Each section is a module of this package with ``run(quick) -> dict | list`` and
``table(result) -> str`` (or, as listed in ``_PROVIDERS``, a pair of functions in another section's
module). A section whose module does not exist yet is skipped: a note in the table, ``null`` in
the JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from theorylab.results import dumps

SECTIONS = ("mc", "grid", "cores", "linear", "multitasking", "lines", "scheduling", "tempering",
            "rsb", "hebbian", "curl", "curl-sweep", "curl-lines", "franz-parisi")

_PROVIDERS = {"cores": ("mc", "run_cores", "table_cores"),
              "curl-sweep": ("curl", "run_sweep", "table_sweep"),
              "curl-lines": ("curl", "run_lines", "table_lines"),
              "franz-parisi": ("franz_parisi", "run", "table")}
"""Sections served by another section's module: name -> (module, run function, table function)."""


def _load(section: str) -> tuple[Callable, Callable] | None:
    """The section's ``run`` and ``table`` functions, or ``None`` if its module does not exist."""
    module_name, run_name, table_name = _PROVIDERS.get(section, (section, "run", "table"))
    qualified = f"{__package__ or 'benchmarks'}.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as error:
        if error.name != qualified:
            raise
        return None
    return getattr(module, run_name), getattr(module, table_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="shorter timing blocks")
    parser.add_argument("--only", choices=SECTIONS, help="run one section")
    args = parser.parse_args(argv)

    results: dict[str, object] = {}
    tables: list[str] = []
    for section in (args.only,) if args.only else SECTIONS:
        functions = _load(section)
        if functions is None:
            results[section] = None
            tables.append(f"[{section}] skipped: benchmarks/{section}.py does not exist yet")
            continue
        run, table = functions
        results[section] = run(args.quick)
        tables.append(f"[{section}]\n{table(results[section])}")
    print(dumps(results) if args.json else "\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
