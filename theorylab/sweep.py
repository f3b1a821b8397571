"""Running a set of independent tasks: injected executor, progress bar, resumable store.

A diagram or a verification sweep is a list of independent tasks (e.g. one row of a grid each).
They run through any :class:`concurrent.futures.Executor` (local processes by default, a Dask
cluster's executor with ``--scheduler``), show a progress bar, and each finished task's result is
written to a store directory at once, so an interrupted sweep keeps what it finished and a rerun
of the same command resumes from there.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

Task = Mapping[str, object]
Result = Mapping[str, np.ndarray]


def make_executor(workers: int | None = None, scheduler: str | None = None) -> cf.Executor | None:
    """An executor for sweeps: a Dask cluster's (``scheduler`` address), local processes
    (``workers`` > 1), or ``None`` (run in this process)."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError as err:  # the optional extra is not installed
            raise RuntimeError(
                "--scheduler needs dask.distributed: pip install 'theorylab[dask]'") from err
        return Client(scheduler).get_executor()
    if workers is None:
        workers = os.cpu_count() or 1
    return cf.ProcessPoolExecutor(max_workers=workers) if workers > 1 else None


def store_key(tasks: Sequence[Task], salt: str = "") -> str:
    """A short hash naming the store of exactly this list of tasks."""
    text = json.dumps([{k: np.asarray(v).tolist() for k, v in t.items()} for t in tasks],
                      sort_keys=True) + salt
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def run(fn: Callable[..., Result], tasks: Sequence[Task], *, executor: cf.Executor | None = None,
        store: str | os.PathLike | None = None, progress: bool = False,
        description: str = "sweep") -> list[Result]:
    """Evaluate ``fn(**task)`` for every task; results in task order.

    Parameters
    ----------
    fn
        A module-level (picklable) function returning a dict of arrays.
    tasks
        Keyword arguments of each call.
    executor
        Where to run; ``None`` runs in this process.
    store
        Directory for finished results (``task-00000.npz`` ...); tasks already there are not
        run again. Written atomically (temporary file, then rename).
    progress
        Show a progress bar on standard error.
    """
    results: list[Result | None] = [None] * len(tasks)
    folder = Path(store) if store is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(len(tasks)):
            path = folder / f"task-{i:05d}.npz"
            if path.exists():
                with np.load(path) as data:
                    results[i] = {k: data[k] for k in data.files}
    todo = [i for i, r in enumerate(results) if r is None]
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=description,
               disable=not progress, unit="task")

    def keep(i: int, result: Result) -> None:
        results[i] = result
        if folder is not None:
            tmp = folder / f".task-{i:05d}.npz.tmp"
            with open(tmp, "wb") as fh:
                np.savez(fh, **result)
            os.replace(tmp, folder / f"task-{i:05d}.npz")
        bar.update()

    try:
        if executor is None:
            for i in todo:
                keep(i, fn(**tasks[i]))
        else:
            futures = {executor.submit(fn, **tasks[i]): i for i in todo}
            try:
                for fut in cf.as_completed(futures):
                    keep(futures[fut], fut.result())
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    finally:
        bar.close()
    return results  # type: ignore[return-value]
