"""The ``theorylab`` command line (DESIGN.md, "The command line").

Every sub-command validates its whole input before computing or writing anything; a bad value
gets one line on standard error naming the parameter and its allowed range, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from theorylab import sweep
from theorylab.models import get as get_model
from theorylab.models import names as model_names
from theorylab.parameters import ParameterError, parse_axis
from theorylab.results import (
    csv_text,
    dumps,
    package_version,
    points_csv,
    provenance,
    save_dataset,
    writable_folder,
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ParameterError(message)


def _value(model, key: str, text: str, ranges: bool, log: bool = False):
    """Parse ``key=text``: a range start:stop:num (where allowed; geometric if ``log``), a
    comma list, or a value."""
    p = model.parameter(key)
    if ":" in text:
        if not ranges:
            raise ParameterError(f"{key} takes a single value here (got range {text!r})")
        return parse_axis(p, text, log)
    if "," in text and p.kind != "floats":
        if not ranges:
            raise ParameterError(f"{key} takes a single value here (got list {text!r})")
        return np.array([p.check(v) for v in text.split(",")])
    return p.check(text)


def _split(items: list[str]) -> dict[str, str]:
    """``key=text`` items as a dict; a key given twice is refused, not overridden."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"expected key=value, got {item!r}")
        key, text = item.split("=", 1)
        if key in out:
            raise ParameterError(f"{key} is given twice ({key}={out[key]} and {item}): give it "
                                 "once (a list is key=a,b,c; a range key=start:stop:num)")
        out[key] = text
    return out


def _assignments(model, items: list[str], ranges: bool = False) -> dict[str, object]:
    return {key: _value(model, key, text, ranges) for key, text in _split(items).items()}


def _print(obj, as_json: bool) -> None:
    print(dumps(obj.to_dict()) if as_json else obj)


def cmd_models(args) -> int:
    import papers

    described = [get_model(n).describe() for n in model_names()]
    if args.json:
        print(dumps({"models": described}))
        return 0
    for d in described:
        print(f"{d['name']}: {d['title']}")
        for name, p in {**d["parameters"], **d["simulation_parameters"]}.items():
            default = "" if p["default"] is None else f" (default {p['default']})"
            print(f"  {name:<10} {p['domain']}{default} — {p['description']}")
        if d["phases"]:
            print(f"  phases: {', '.join(d['phases'])}")
        if d["lines"]:
            lines = ", ".join(f"{k} ({v['kind']})" for k, v in d["lines"].items())
            print(f"  lines: {lines}")
        for name, preset in d["presets"].items():
            print(f"  preset {name}: " + " ".join(f"{k}={v}" for k, v in preset.items()))
        for paper in d["papers"]:
            print(f"  paper: {paper}")
        recipes = [k for k in papers.names() if d["name"] in papers.models(k)]
        if recipes:
            print(f"  reproduce: {', '.join(recipes)}")
    return 0


def cmd_solve(args) -> int:
    model = get_model(args.model)
    params = _assignments(model, args.params)
    _print(model.solve(phase=args.phase, **params), args.json)
    return 0


def cmd_line(args) -> int:
    model = get_model(args.model)
    model.check_line(args.name)
    params = _assignments(model, args.params, ranges=True)
    line = model.line(args.name, **params)
    if args.json:
        print(dumps(line.to_dict()))
    elif args.csv:
        print(points_csv(line.points), end="")
    else:
        print(f"{line.model} {line.line} ({line.kind}) {dict(line.parameters)}")
        for p in line.points:
            print("  " + " ".join(f"{k}={v:.7g}" if isinstance(v, float) else f"{k}={v}"
                                  for k, v in p.items()))
    return 0


def _diagram_axes(model, values: dict, typed: dict[str, str]) -> dict[str, np.ndarray]:
    """The two ranges of a diagram, removed from ``values`` (x first, in the order of the
    model's ``diagram_axes`` or, for other planes, of its parameters)."""
    ranged = [k for k, v in values.items() if np.ndim(v) > 0]
    order = [*model.diagram_axes, *(p.name for p in model.parameters)]
    ranged.sort(key=order.index)
    if len(ranged) != 2:
        got = ": " + ", ".join(f"{k}={typed[k]}" for k in ranged) if ranged else ""
        raise ParameterError(
            "diagram needs exactly two ranges key=start:stop:num (e.g. "
            f"{'=..., '.join(model.diagram_axes)}=...; or --preset, one of "
            f"{', '.join(model.presets) or 'none'}); got {len(ranged)}{got}")
    for k in ranged:
        if np.size(values[k]) < 2:
            raise ParameterError(f"{k} range has a single point: a diagram needs two values "
                                 f"or more on each axis (for one value use: theorylab cut "
                                 f"{model.name} ... {k}=VALUE with a range on the other axis)")
    return {k: np.asarray(values.pop(k), dtype=float) for k in ranged}


def _name_part(key: str, value) -> str:
    """``P3``, ``alpha0-0.2x200``: a parameter in a file name."""
    if np.ndim(value) > 0:
        v = np.asarray(value)
        return f"{key}{v.min():g}-{v.max():g}x{v.size}"
    return f"{key}{value:g}" if isinstance(value, float | int) else f"{key}{value}"


def _stem(model, preset: str | None, typed: dict[str, str], values: dict, axes: dict) -> str:
    """The file name of a diagram: ``MODEL_PRESET`` for a preset as it stands, else the model
    with its ranges and the fixed parameters that differ from their defaults; so a different
    grid written to the same folder gets its own files."""
    if preset and not typed:
        return f"{model.name}_{preset}"
    parts = [_name_part(k, v) for k, v in axes.items()]
    parts += [_name_part(k, v) for k, v in values.items() if v != model.parameter(k).default]
    return "_".join([model.name, *parts])


def _figure_options(args):
    """``--format``/``--dpi`` as a :func:`theorylab.plot.options` context."""
    from theorylab import plot

    formats = None if args.format is None else [f for f in args.format.split(",") if f]
    return plot.options(formats=formats, dpi=args.dpi)


def _record(out: Path, stem: str, attrs) -> Path:
    """``stem.command.txt``: the exact command and the versions that made the files."""
    path = out / f"{stem}.command.txt"
    path.write_text(attrs["command"] + "\n" + attrs["versions"] + "\n")
    return path


def cmd_diagram(args) -> int:
    model = get_model(args.model)
    given: dict[str, str] = {}
    if args.preset:
        if args.preset not in model.presets:
            raise ParameterError(f"preset must be one of {', '.join(model.presets)} "
                                 f"(got {args.preset!r})")
        given.update(model.presets[args.preset])
    typed = _split(args.params)
    given.update(typed)
    values = {k: _value(model, k, v, ranges=True, log=k in model.log_axes)
              for k, v in given.items()}
    axes = _diagram_axes(model, values, given)
    model.check_axes(list(axes))
    shard = sweep.parse_shard(args.shard) if args.shard else None
    out = Path(args.out or f"{model.name}-diagram")
    writable_folder(out)
    with _figure_options(args):
        pass  # --format and --dpi are checked before any work
    stem = _stem(model, args.preset, typed, values, axes)
    fingerprint = sweep.code_fingerprint(getattr(model, "settings", None))
    key = sweep.store_key({"model": model.name, **axes, **values}, fingerprint)
    store = sweep.Store(out / f".sweep-{key}", shard=shard, compute=not args.assemble)
    argv = _without_shard(args.argv)
    try:
        with sweep.executor(args.workers, args.scheduler) as pool:
            # the executor is up (a scheduler answered): from here on, files are written
            store.folder.mkdir(parents=True, exist_ok=True)
            (store.folder / "command.json").write_text(
                dumps({"argv": argv, "code": fingerprint, "stem": stem}))
            ds = model.diagram(axes, values, executor=pool, store=store,
                               progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"interrupted: finished blocks are kept in {store.folder}; run the same command "
              "to resume", file=sys.stderr)
        return 130
    except sweep.Incomplete as err:
        if shard is None:  # theorylab merge before every shard has finished
            raise ParameterError(f"merge: {err}; run the missing shards (the same command "
                                 "with --shard i/n) first") from None
        print(f"shard {shard[0]}/{shard[1]} done: {err}. When every shard has finished, run: "
              f"theorylab merge {out}", file=sys.stderr)
        return 0
    ds.attrs.update(provenance(argv))
    written = [save_dataset(ds, out, stem)]
    written += _write_lines(ds, out, stem)
    with _figure_options(args):
        written += model.plot_diagram(ds, out / f"{stem}.png")
    written.append(_record(out, stem, ds.attrs))
    if not args.keep_store:
        sweep.remove(store)
    bad = int(ds.attrs.get("no_branch_points", ds.attrs.get("unconverged_points", 0)))
    excluded = int(ds.attrs.get("unconverged_points", 0)) - bad
    notes = [f"{bad} grid points where no branch converged (marked x)"] if bad else []
    if excluded:
        notes.append(f"{excluded} grid points with no selectable "
                     f"{ds.attrs.get('approximation', '')} state (shaded)".replace("  ", " "))
    print("wrote " + ", ".join(str(p) for p in written)
          + (f" ({'; '.join(notes)})" if notes else ""))
    return 0


def _without_shard(argv: list[str]) -> list[str]:
    """The command without its ``--shard`` option (the same for every shard)."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--shard":
            skip = True
        elif not item.startswith("--shard="):
            out.append(item)
    return out


def _write_lines(ds, out: Path, stem: str) -> list[Path]:
    """A diagram's traced lines as ``stem.lines.csv`` and ``stem.lines.json``."""
    from theorylab.results import diagram_lines, lines_csv

    csv_path, json_path = out / f"{stem}.lines.csv", out / f"{stem}.lines.json"
    record = {"model": ds.attrs["model"], "parameters": json.loads(ds.attrs["parameters"])}
    if "axes" in ds.attrs:  # an equilibrium diagram: its traced lines
        lines = diagram_lines(ds)
        if not lines:
            return []
        csv_path.write_text(lines_csv(lines, ds.attrs["axes"].split(",")))
        record.update(axes=ds.attrs["axes"], lines=lines)
    else:  # learning dynamics: the curves over one axis (e.g. t_opt(alpha), E_g(alpha, inf))
        curves = [k for k in ds.data_vars if ds[k].ndim == 1]
        if not curves:
            return []
        (axis,) = {ds[k].dims[0] for k in curves}
        rows = [{axis: float(v), **{k: float(ds[k].values[i]) for k in curves}}
                for i, v in enumerate(ds[axis].values)]
        csv_path.write_text(points_csv(rows))
        record.update(axis=axis, curves={k: ds[k].attrs.get("long_name", k) for k in curves},
                      points=rows)
    json_path.write_text(dumps(record) + "\n")
    return [csv_path, json_path]


def cmd_merge(args) -> int:
    out = Path(args.folder)
    stores = sorted(out.glob(".sweep-*/command.json"))
    if not stores:
        raise ParameterError(f"merge: no sharded sweep in {out} (its .sweep-* folders hold "
                             "the shards' results)")
    current = sweep.code_fingerprint
    for record in stores:
        spec = json.loads(record.read_text())
        model = get_model(spec["argv"][1])
        if spec["code"] != current(getattr(model, "settings", None)):
            raise ParameterError(f"merge: {record.parent} was computed by other code or "
                                 "settings than this installation's; rerun its shards")
        args_ = build_parser().parse_args(spec["argv"])
        args_.argv, args_.assemble, args_.no_progress = spec["argv"], True, True
        status = cmd_diagram(args_)
        if status:
            return status
    return 0


def cmd_plot(args) -> int:
    from theorylab import plot

    path = Path(args.file)
    if path.suffix != ".nc" or not path.is_file():
        raise ParameterError(f"plot needs a netCDF file written by theorylab (got {path})")
    out = Path(args.out) if args.out else path.parent
    writable_folder(out)
    with _figure_options(args):
        written = plot.redraw(path, out)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_cut(args) -> int:
    model = get_model(args.model)
    if not hasattr(model, "cut"):
        raise ParameterError(f"{model.name} has no branches to cut (a learning-dynamics "
                             "model): use solve or diagram")
    values = _assignments(model, args.params, ranges=True)
    ranged = [k for k, v in values.items() if np.ndim(v) > 0]
    if len(ranged) != 1:
        raise ParameterError("cut needs exactly one range key=start:stop:num (got "
                             f"{len(ranged)})")
    axis = ranged[0]
    out = Path(args.out) if args.out else None
    if out is not None:
        writable_folder(out)
        with _figure_options(args):
            pass  # --format and --dpi are checked before any work
    along = values.pop(axis)
    ds = model.cut(axis, along, **values)
    ds.attrs.update(provenance(args.argv))
    rows = cut_rows(ds)
    if args.json:
        print(dumps({"model": model.name, "axis": axis,
                     "parameters": json.loads(ds.attrs["parameters"]), "points": rows,
                     "events": json.loads(ds.attrs["events"]), "version": package_version()}))
    elif args.csv:
        print(cut_csv(rows), end="")
    else:
        print(cut_table(ds, rows))
    if out is not None:
        from theorylab import plot

        stem = "_".join([model.name, "cut", _name_part(axis, along),
                         *(_name_part(k, v) for k, v in values.items())])
        written = [save_dataset(ds, out, stem), out / f"{stem}.csv"]
        written[1].write_text(cut_csv(rows))
        with _figure_options(args):
            written += plot.cut(ds, out / f"{stem}.png")
        written.append(_record(out, stem, ds.attrs))
        print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


def cut_rows(ds) -> list[dict]:
    """One dict per cut point: the axis value, the selected state and every converged branch
    (order parameters, f, energy, entropy, stability eigenvalue, status)."""
    from theorylab.equilibrium import STATUS

    axis = ds.attrs["axis"]
    phases = ds.attrs["phases"].split(",")
    ops = ds.attrs["order_parameters"].split(",")
    rows = []
    for i, value in enumerate(ds[axis].values):
        sel = int(ds["phase"].values[i])
        branches = {}
        for ph in phases:
            if not bool(ds[f"{ph}_converged"].values[i]):
                continue
            branch = {k: float(ds[f"{ph}_{k}"].values[i]) for k in ops}
            branch.update({k: float(ds[f"{ph}_{k}"].values[i])
                           for k in ("f", "energy", "entropy", "eig")})
            branch["status"] = STATUS[int(ds[f"{ph}_status"].values[i])]
            branches[ph] = branch
        rows.append({axis: float(value), "state": phases[sel] if sel >= 0 else None,
                     "f": float(ds["f"].values[i]), "branches": branches})
    return rows


def cut_csv(rows: list[dict]) -> str:
    """Long-format CSV: one line per (cut point, converged branch)."""
    axis = next(iter(rows[0]))
    keys = sorted({k for r in rows for b in r["branches"].values() for k in b})
    table = [[r[axis], name, int(name == r["state"]), *(b.get(k, float("nan")) for k in keys)]
             for r in rows for name, b in r["branches"].items()]
    return csv_text([axis, "branch", "selected", *keys], table)


def cut_table(ds, rows: list[dict]) -> str:
    """The cut as text: one line per point, the selected state first, then every branch."""
    axis = ds.attrs["axis"]
    ops = ds.attrs["order_parameters"].split(",")
    lines = [f"{ds.attrs['title']}: every branch along {axis} "
             "(* selected; status in brackets where a branch is not selectable)"]
    for r in rows:
        parts = []
        for name, b in r["branches"].items():
            mark = "*" if name == r["state"] else " "
            values = " ".join(f"{k}={b[k]:.6g}" for k in ops)
            flag = "" if b["status"] == "selectable" else f" [{b['status']}]"
            parts.append(f"{mark}{name}: {values} f={b['f']:.8g} eig={b['eig']:.4g}{flag}")
        lines.append(f"{axis}={r[axis]:<8.4g} " + ("  |  ".join(parts) or "no branch"))
    for e in json.loads(ds.attrs["events"]):
        what = (f"{e['branch']} {'appears' if e['appears'] else 'ends'} between "
                f"{e['between'][0]:g} and {e['between'][1]:g}" if e["kind"] == "branch-end"
                else f"free energies of {' and '.join(e['branches'])} cross at "
                     f"{axis} = {e[axis]:.6g}")
        lines.append(f"event: {what}")
    return "\n".join(lines)


def cmd_simulate(args) -> int:
    model = get_model(args.model)
    params = _assignments(model, args.params)
    if args.seeds < 1:
        raise ParameterError(f"--seeds must be an integer >= 1 (got {args.seeds})")
    if args.tempering is not None:
        return _temper(model, args, params)
    result = model.simulate(seeds=args.seeds, seed=args.seed, progress=not args.json,
                            **params)
    if args.json:
        print(dumps(result.to_dict()))
    else:
        print(f"{result.model} {dict(result.parameters)} ({result.seeds} runs, "
              f"{result.sweeps} sweeps)")
        for k, v in result.observables.items():
            print(f"  {k:<10} {v.mean:.6g} ± {v.stderr:.2g}")
    return 0


def _temper(model, args, params: dict) -> int:
    """``simulate --tempering T=lo:hi:n``: parallel tempering over a geometric ladder."""
    if not hasattr(model, "temper"):
        raise ParameterError(f"--tempering is available for dense-hopfield (got {model.name})")
    key, _, text = args.tempering.partition("=")
    if key != "T" or text.count(":") != 2:
        raise ParameterError(f"--tempering must be T=T_min:T_max:n (got {args.tempering!r})")
    ladder = parse_axis(model.parameter("T"), text, log=True)
    if ladder.size < 2:
        raise ParameterError(f"--tempering needs n >= 2 temperatures (got {args.tempering!r})")
    if "T" in params:
        raise ParameterError("simulate --tempering takes its temperatures from the ladder: "
                             "drop T=")
    result = model.temper(ladder, seeds=args.seeds, seed=args.seed, **params)
    print(dumps(result.to_dict()) if args.json else result)
    return 0


def cmd_verify(args) -> int:
    model = get_model(args.model)
    result = model.verify(quick=args.quick, progress=not args.json)
    print(dumps(result.to_dict()) if args.json else result.table())
    return 0 if result.passed else 1


def cmd_reproduce(args) -> int:
    import papers

    if args.list:
        for key in papers.names():
            print(f"{key}: {papers.describe(key)}")
        return 0
    if args.paper is None:
        raise ParameterError(f"reproduce needs a recipe, one of {', '.join(papers.names())} "
                             "(or --list)")
    paper = papers.get(args.paper)
    out = Path(args.out or f"{args.paper}-figures")
    writable_folder(out)
    record = provenance(args.argv)
    previous = out / "command.txt"
    if (previous.exists() and not args.force
            and previous.read_text().splitlines()[0] != record["command"]):
        raise ParameterError(f"--out {out} holds the results of another command "
                             f"({previous.read_text().splitlines()[0]}); give another folder "
                             "or --force to overwrite")
    with _figure_options(args):
        written = paper.reproduce(out, quick=args.quick)
    previous.write_text(record["command"] + "\n" + record["versions"] + "\n")
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_cite(args) -> int:
    print("\n\n".join(get_model(args.model).citations))
    return 0


def _figure_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", help="figure formats, comma-separated, from png, pdf, svg "
                   "(default png,pdf)")
    p.add_argument("--dpi", type=int, help="resolution of PNG figures (default 200)")


def _ansatz_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ansatz", help="replica ansatz of a model that offers one (dense-hopfield: "
                   "rs, the default, or 1rsb); the same as the parameter ansatz=...")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="theorylab", description="Replica theory of neural networks, "
                     "checked against simulations.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("models", help="models, their parameters, phases and lines")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("solve", help="solve at one point")
    _ansatz_argument(p)
    p.add_argument("model")
    p.add_argument("params", nargs="*", metavar="key=value")
    p.add_argument("--phase", help="solve this phase's branch instead of the thermodynamic state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_solve)

    p = sub.add_parser("line", help="locate a transition line")
    _ansatz_argument(p)
    p.add_argument("model")
    p.add_argument("name")
    p.add_argument("params", nargs="*", metavar="key=value|key=start:stop:num")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.set_defaults(run=cmd_line)

    p = sub.add_parser("diagram", help="phase diagram: netCDF, figures, lines as CSV and "
                       "JSON, and the command")
    p.add_argument("model")
    p.add_argument("params", nargs="*", metavar="key=value|key=start:stop:num")
    _ansatz_argument(p)
    p.add_argument("--preset")
    p.add_argument("--out", help="output folder (default MODEL-diagram; its parent must exist)")
    p.add_argument("--workers", type=int, help="local processes (default: all cores)")
    p.add_argument("--scheduler", help="a Dask scheduler's address (tcp://host:8786), or "
                   "local:N for a local cluster of N workers (needs theorylab[dask])")
    p.add_argument("--shard", metavar="i/n", help="run only shard i of n (0 <= i < n) into "
                   "the folder's store; assemble with theorylab merge when all have run")
    p.add_argument("--keep-store", action="store_true",
                   help="keep the per-task store of a finished sweep (default: removed)")
    p.add_argument("--no-progress", action="store_true")
    _figure_arguments(p)
    p.set_defaults(run=cmd_diagram, assemble=False)

    p = sub.add_parser("merge", help="assemble a diagram computed in shards (--shard i/n)")
    p.add_argument("folder", help="the --out folder the shards wrote into")
    _figure_arguments(p)
    p.set_defaults(run=cmd_merge)

    p = sub.add_parser("plot", help="redraw a saved diagram or cut (FILE.nc) without "
                       "recomputing")
    p.add_argument("file")
    p.add_argument("--out", help="output folder (default: the file's folder)")
    _figure_arguments(p)
    p.set_defaults(run=cmd_plot)

    p = sub.add_parser("cut", help="every branch along one control parameter")
    _ansatz_argument(p)
    p.add_argument("model")
    p.add_argument("params", nargs="*", metavar="key=value|key=start:stop:num")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.add_argument("--out", help="also write netCDF, CSV and figures into this folder")
    _figure_arguments(p)
    p.set_defaults(run=cmd_cut)

    p = sub.add_parser("simulate", help="simulate at one point (means ± standard errors)")
    p.add_argument("model")
    p.add_argument("params", nargs="*", metavar="key=value")
    p.add_argument("--seeds", type=int, default=8, help="independent runs (default 8)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--tempering", metavar="T=T_min:T_max:n",
                   help="parallel tempering over n geometric temperatures (dense-hopfield; "
                   "two replicas each, P(q) and round trips reported)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_simulate)

    p = sub.add_parser("verify", help="theory vs simulation; exit 1 on disagreement")
    p.add_argument("model")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("reproduce", help="regenerate a paper's figures")
    p.add_argument("paper", nargs="?")
    p.add_argument("--list", action="store_true", help="the recipes, one line each")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", help="output folder (default PAPER-figures)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a folder that holds another command's results")
    _figure_arguments(p)
    p.set_defaults(run=cmd_reproduce)

    p = sub.add_parser("cite", help="BibTeX of the papers behind a model")
    p.add_argument("model")
    p.set_defaults(run=cmd_cite)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``theorylab`` console script."""
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser().parse_args(argv)
        args.argv = argv
        if getattr(args, "ansatz", None) is not None:
            args.params.append(f"ansatz={args.ansatz}")
        return args.run(args)
    except ParameterError as err:
        print(f"theorylab: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

