"""Running a set of independent tasks: executors, progress bar, resumable store, shards.

A diagram is a list of independent tasks (a block of grid rows, a line to trace). They run
through an executor — this process, local processes (``--workers``), or a Dask cluster
(``--scheduler ADDRESS`` or ``local:N``) — with a progress bar, and each finished task's result
is written to a :class:`Store` at once, so an interrupted sweep keeps what it finished and a
rerun of the same command resumes from there. A store is named by the task list *and* the code
(package version, the source of the package and of its derivations, the solver settings), so a
rerun after a change of code or settings recomputes. On a batch system without a scheduler, the
tasks are split into shards (``--shard i/n``), each run as its own job writing into the same
store, and assembled by ``theorylab merge``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from theorylab.parameters import ParameterError

Task = Mapping[str, object]
Result = Mapping[str, np.ndarray]


class Incomplete(Exception):
    """A sweep that ran only its shard, or was asked to assemble results not all there yet."""

    def __init__(self, done: int, total: int, store: Path):
        super().__init__(f"{done} of {total} tasks finished in {store}")
        self.done, self.total, self.store = done, total, store


@dataclass(frozen=True)
class Store:
    """Where a sweep keeps its finished tasks.

    Attributes
    ----------
    folder
        Directory of ``task-00000.npz`` ... (one per finished task, written atomically).
    shard
        ``(i, n)``: run only the tasks whose index is ``i`` modulo ``n`` (0 <= i < n), then
        raise :class:`Incomplete` (a shard never assembles). ``None``: run every task.
    compute
        ``False``: run nothing, only assemble (``theorylab merge``); missing tasks raise
        :class:`Incomplete`.
    """

    folder: Path
    shard: tuple[int, int] | None = None
    compute: bool = True

    def sub(self, name: str) -> Store:
        """The store of a second task list of the same sweep (e.g. its lines)."""
        return replace(self, folder=self.folder / name)

    def mine(self, index: int) -> bool:
        """Whether this process runs task ``index``."""
        if not self.compute:
            return False
        return self.shard is None or index % self.shard[1] == self.shard[0]


def as_store(store: Store | str | os.PathLike | None) -> Store | None:
    """A :class:`Store` from a store or its folder (``None`` passes through)."""
    if store is None or isinstance(store, Store):
        return store
    return Store(Path(store))


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with 0 <= i < n, for ``--shard``."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        i, n = -1, 0
    if not 0 <= i < n:
        raise ParameterError(f"--shard must be i/n with integers 0 <= i < n (got {text!r})")
    return i, n


def _call(fn: Callable[..., Result], task: Task) -> Result:
    """``fn(**task)``; submitted as ``_call(fn, task)`` so that no task keyword (``key``,
    ``workers``, ``pure``, ...) is taken by an executor's ``submit`` as its own option."""
    return fn(**task)


@contextlib.contextmanager
def executor(workers: int | None = None,
             scheduler: str | None = None) -> Iterator[cf.Executor | None]:
    """The executor of a sweep, shut down on exit.

    Parameters
    ----------
    workers
        Local processes (default: every core); 1 runs in this process (``None`` yielded).
    scheduler
        A Dask scheduler's address (``tcp://host:8786``), or ``local:N``: a ``LocalCluster`` of
        N single-threaded worker processes on the loopback interface, started and closed here.
        Needs the ``dask`` extra.
    """
    if scheduler is None:
        n = workers if workers is not None else (os.cpu_count() or 1)
        if n < 1:
            raise ParameterError(f"--workers must be an integer >= 1 (got {n})")
        if n == 1:
            yield None
            return
        pool = cf.ProcessPoolExecutor(max_workers=n)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    with _dask_client(scheduler) as client:
        pool = client.get_executor(pure=False)
        try:
            yield pool
        finally:
            pool.shutdown(wait=False)  # distributed's executor takes no cancel_futures


@contextlib.contextmanager
def _dask_client(scheduler: str):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError("--scheduler needs dask.distributed, which is not installed: "
                             "pip install 'theorylab[dask]'") from None
    cluster = None
    if scheduler.startswith("local:"):
        text = scheduler.removeprefix("local:")
        if not text.isdigit() or int(text) < 1:
            raise ParameterError(f"--scheduler local:N needs an integer N >= 1 (got "
                                 f"{scheduler!r})")
        cluster = LocalCluster(n_workers=int(text), threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        try:
            client = Client(address, timeout="10s")
        except OSError as err:
            raise ParameterError(f"--scheduler: no Dask scheduler answers at {address!r} "
                                 f"({err})") from None
        with client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def code_fingerprint(settings: object = None) -> dict[str, str]:
    """What a stored result depends on besides its task list: the package version, a digest
    of the package's and the derivations' source files, and ``settings`` (e.g. a model's
    solver settings, by their ``repr``)."""
    from theorylab.results import package_version

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for package in ("theorylab", "derivations"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return {"theorylab": package_version(), "sources": digest.hexdigest()[:16],
            "settings": repr(settings)}


def store_key(spec: object, fingerprint: Mapping[str, str]) -> str:
    """A short hash naming the store of a sweep: its specification (e.g. the grid and the
    fixed parameters, JSON-able with arrays) and the code's ``fingerprint``."""
    def plain(v):
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        return np.asarray(v).tolist() if isinstance(v, np.ndarray | list | tuple) else v

    text = json.dumps({"spec": plain(spec), "code": dict(fingerprint)}, sort_keys=True,
                      default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def remove(store: Store | str | os.PathLike | None) -> None:
    """Delete a finished sweep's store."""
    store = as_store(store)
    if store is not None and store.folder.exists():
        shutil.rmtree(store.folder)


def run(fn: Callable[..., Result], tasks: Sequence[Task], *, executor: cf.Executor | None = None,
        store: Store | str | os.PathLike | None = None, progress: bool = False,
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
        A :class:`Store` (or its folder) for finished results; tasks already there are not run
        again. With a shard, or ``compute=False``, only the store's own tasks run and
        :class:`Incomplete` is raised unless every result is there.
    progress
        Show a progress bar on standard error.
    """
    store = as_store(store)
    results: list[Result | None] = [None] * len(tasks)
    if store is not None:
        store.folder.mkdir(parents=True, exist_ok=True)
        for i in range(len(tasks)):
            path = store.folder / f"task-{i:05d}.npz"
            if path.exists():
                with np.load(path) as data:
                    results[i] = {k: data[k] for k in data.files}
    todo = [i for i, r in enumerate(results) if r is None and (store is None or store.mine(i))]
    bar = tqdm(total=len(todo), desc=description, disable=not progress, unit="task")

    def keep(i: int, result: Result) -> None:
        results[i] = result
        if store is not None:
            tmp = store.folder / f".task-{i:05d}.npz.tmp"
            with open(tmp, "wb") as fh:
                np.savez(fh, **result)
            os.replace(tmp, store.folder / f"task-{i:05d}.npz")
        bar.update()

    try:
        if executor is None:
            for i in todo:
                keep(i, fn(**tasks[i]))
        else:
            futures = {executor.submit(_call, fn, tasks[i]): i for i in todo}
            try:
                for fut in cf.as_completed(futures):
                    keep(futures[fut], fut.result())
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    finally:
        bar.close()
    missing = sum(r is None for r in results)
    if missing or (store is not None and store.shard is not None):
        # a shard only computes: the results are assembled by one ``theorylab merge``
        raise Incomplete(len(tasks) - missing, len(tasks), store.folder)
    return results  # type: ignore[return-value]


def run_each(jobs: Sequence[tuple[Callable[..., Result], Sequence[Task], Store | None, str]], *,
             executor: cf.Executor | None = None, progress: bool = False) -> list[list[Result]]:
    """:func:`run` for each ``(fn, tasks, store, description)`` of one sweep in turn; when a
    shard leaves some unfinished, every job still runs its share before :class:`Incomplete`
    (summed over the jobs) is raised."""
    out, missing = [], []
    for fn, tasks, store, description in jobs:
        try:
            out.append(run(fn, tasks, executor=executor, store=store, progress=progress,
                           description=description))
        except Incomplete as err:
            missing.append(err)
    if missing:
        raise Incomplete(sum(e.done for e in missing), sum(e.total for e in missing),
                         missing[0].store)
    return out
