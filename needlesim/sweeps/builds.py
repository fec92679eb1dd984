"""Building many individuals: on every core, or on a Dask cluster, cached by their parameters.

An individual (:func:`needlesim.anatomy.individuals.make_individual`) is fully determined by
the template's geometry, its drawn :class:`~needlesim.anatomy.individuals.Morphometry` and
the :class:`~needlesim.anatomy.params.AnatomyParams`, and by the builder's version. The cache
is a folder with one scene folder per individual, named ``seed-<seed>-<key>`` where ``key``
is the SHA-256 (first :data:`KEY_CHARS` hex digits) of all of these (:func:`build_key`): a
different template, measure or parameter is a different folder, so nothing stale is ever
reused, and a rerun builds nothing. An individual that cannot be built leaves
``seed-<seed>-<key>.skipped.json`` with the reason (a finding, not an error: it is reported,
and not tried again). Folders are written atomically (:func:`~needlesim.anatomy.build.write_scene`),
so an interrupted run keeps every individual it finished.

Work is one task per individual: a process pool of ``workers`` (default every core; 1 runs
in this process), or the Dask scheduler at ``scheduler``. The template goes to each worker
once (a path or the built-in scene is reloaded there; an in-memory scene is shipped).
A build that kills its worker process does not stop the others: it is retried, then
isolated, and reported as died (:func:`_run_pool`; on Dask, once the scheduler gives up on
it, :func:`_run_dask` runs it again alone).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..core.errors import NeedlesimError
from ..core.model.scene import Scene
from .progress import Progress
from .runner import SceneSource

#: Hex digits of the parameter hash in a folder name (80 bits: no collision in practice).
KEY_CHARS = 20
#: Bump when the builder changes what it builds from the same parameters (invalidates caches).
BUILD_SCHEMA = 2


@dataclass(frozen=True)
class Outcome:
    """One individual: built (``result`` a folder, or a scene when nothing is cached) or
    skipped (``reason``); ``extra`` is what ``then`` returned for it; ``seconds`` how long
    its build took in its worker (None: found in the cache)."""

    seed: int
    result: Path | Scene | None = None
    reason: str | None = None
    extra: object = None
    seconds: float | None = None


def _params_dict(params) -> dict:
    return {f.name: (dict(v) if isinstance(v := getattr(params, f.name), Mapping) else v) for f in fields(params)}


def build_key(template_key: str, morphometry, params=None) -> str:
    """The cache key of one individual (module docstring)."""
    from .. import __version__
    from ..anatomy.params import AnatomyParams

    doc = {"schema": BUILD_SCHEMA, "needlesim": __version__, "template": template_key,
           "morphometry": asdict(morphometry), "params": _params_dict(params or AnatomyParams())}
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_CHARS]


class BuildCache:
    """Individuals on disk under ``folder`` (``None``: nothing kept, scenes returned)."""

    def __init__(self, folder: str | Path | None, template_key: str, params=None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.template_key, self.params = template_key, params
        if self.folder is not None:
            from .grid import OutputError

            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot use the build cache {self.folder}: {exc}") from None

    def name(self, m) -> str:
        return f"seed-{m.seed}-{build_key(self.template_key, m, self.params)}"

    def lookup(self, m) -> Path | str | None:
        """The cached folder, the reason the individual was skipped, or None if not tried."""
        if self.folder is None:
            return None
        path = self.folder / self.name(m)
        if (path / "scene.toml").is_file():
            return path
        skipped = path.with_name(path.name + ".skipped.json")
        try:
            return str(json.loads(skipped.read_text())["reason"]) if skipped.is_file() else None
        except (OSError, ValueError, KeyError):  # a torn marker: try the individual again
            return None

    def put(self, m, scene: Scene) -> Path | Scene:
        if self.folder is None:
            return scene
        from ..anatomy.build import write_scene

        return write_scene(scene, self.folder / self.name(m))

    def skip(self, m, reason: str) -> None:
        if self.folder is None:
            return
        path = self.folder / f"{self.name(m)}.skipped.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"seed": m.seed, "reason": reason}))
        os.replace(tmp, path)


_TEMPLATE: dict = {}  # per process: the template scene of the current run


def _template(source: SceneSource) -> Scene:
    token = (source.path, None if source.scene is None else source.scene.landmarks_key)
    if _TEMPLATE.get("token") != token:
        _TEMPLATE.update(token=token, scene=source.load())
    return _TEMPLATE["scene"]


def build_one(source: SceneSource, cache: BuildCache, m, then: Callable[[Scene], object] | None = None) -> Outcome:
    """Build (or find in ``cache``) the individual ``m``; a :class:`NeedlesimError` while
    building makes it skipped with the error as its reason. With ``then``, also return
    ``then(scene)``, computed on the scene as read back from the cache."""
    from ..anatomy.individuals import make_individual
    from ..core.io.manifest import load_scene

    found, seconds = cache.lookup(m), None
    if found is None:
        template = _template(source)
        t0 = time.perf_counter()
        try:
            scene = make_individual(template, m, params=cache.params)
        except NeedlesimError as exc:
            found = f"{type(exc).__name__}: {exc}"
            cache.skip(m, found)
        else:
            found = cache.put(m, scene)
        seconds = time.perf_counter() - t0
    if isinstance(found, str):
        return Outcome(m.seed, reason=found, seconds=seconds)
    extra = None if then is None else then(found if isinstance(found, Scene) else load_scene(found))
    return Outcome(m.seed, found, extra=extra, seconds=seconds)


def _pool_init(source: SceneSource) -> None:
    import faulthandler

    faulthandler.enable()  # a worker killed by a crash in native code leaves its Python stack on stderr
    _template(source)


def build_many(source: SceneSource, morphometries: Sequence, cache: BuildCache, *, workers: int = 1,
               scheduler: str | None = None, then: Callable[[Scene], object] | None = None,
               progress: bool | None = None, label: str = "individuals",
               on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Every individual of ``morphometries``, in their order (module docstring); a bar on
    a terminal (``progress=None``) counts them as they finish, and ``on_outcome`` is called
    with each one built or skipped in this run (e.g. to record it at once)."""
    out: dict[int, Outcome] = {}
    todo = []
    for k, m in enumerate(morphometries):
        hit = cache.lookup(m) if then is None else None
        if hit is None:
            todo.append(k)
        else:
            out[k] = Outcome(m.seed, hit) if isinstance(hit, Path) else Outcome(m.seed, reason=hit)
    bar = Progress(len(morphometries), initial=len(out), enabled=progress, label=label)
    try:
        def finished(k: int, outcome: Outcome) -> None:
            out[k] = outcome
            bar.update(1)
            if on_outcome is not None:
                on_outcome(outcome)

        if not todo:
            pass
        elif scheduler is not None:
            _run_dask(scheduler, source, [(k, morphometries[k]) for k in todo], cache, then, finished)
        elif workers <= 1 or len(todo) <= 1:
            for k in todo:
                finished(k, build_one(source, cache, morphometries[k], then))
        else:
            _run_pool(source, [(k, morphometries[k]) for k in todo], cache, then, min(workers, len(todo)), finished)
    finally:
        bar.close()
    return [out[k] for k in range(len(morphometries))]


#: Why an individual has no outcome when its build killed its process (not cached: it may
#: have been memory pressure from builds beside it, so the next run tries it again).
DIED = ("its build process died abruptly (killed by the system, most often for lack of memory, "
        "or a crash in a native library); not cached, so the next run tries it again")


def _run_pool(source, todo, cache, then, workers, finished) -> None:
    """Build ``todo`` in a pool; a worker that dies breaks the pool and every task in it,
    so the unfinished ones go to a fresh pool, and if that breaks too, each to a pool of
    its own: the one that kills its process is reported (:data:`DIED`), the rest finish."""
    left = _pool_pass(source, todo, cache, then, workers, finished)
    if left:
        left = _pool_pass(source, left, cache, then, workers, finished)
    for k, m in left:
        if _pool_pass(source, [(k, m)], cache, then, 1, finished):
            finished(k, Outcome(m.seed, reason=DIED))


def _pool_pass(source, todo, cache, then, workers, finished) -> list:
    """One pool over ``todo``: the tasks left unfinished because a worker died."""
    from concurrent.futures.process import BrokenProcessPool

    broken = []
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), initializer=_pool_init,
                             initargs=(source,)) as pool:
        pending = {pool.submit(build_one, source, cache, m, then): (k, m) for k, m in todo}
        try:
            while pending and not broken:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    _settle(f, pending.pop(f), BrokenProcessPool, broken, finished)
        except BaseException:
            for f in pending:
                f.cancel()
            raise
    return broken + list(pending.values()) if broken else []


def _settle(future, task: tuple, died: type[BaseException], dead: list, finished) -> None:
    """Report a finished ``future`` of ``task`` (index, morphometry), or, if its worker died
    (``died`` raised), keep the task in ``dead`` to run again."""
    try:
        outcome = future.result()
    except died:
        dead.append(task)
    else:
        finished(task[0], outcome)


def _run_dask(address: str, source, todo, cache, then, finished) -> None:
    from .cluster import CONNECT_TIMEOUT_S, ClusterError

    try:
        from distributed import Client, KilledWorker, as_completed
    except ImportError:
        raise ClusterError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        src = client.scatter(source, broadcast=True) if source.scene is not None else source
        futures = {client.submit(build_one, src, cache, m, then, key=f"needlesim-build-{cache.name(m)}"): (k, m)
                   for k, m in todo}
        killed = []  # the scheduler gave up on them: their workers died (perhaps for a task beside them)
        try:
            for f in as_completed(futures):
                _settle(f, futures[f], KilledWorker, killed, finished)
            for k, m in killed:  # each alone now: the one that kills its worker is reported, the rest finish
                f = client.submit(build_one, src, cache, m, then, key=f"needlesim-build-{cache.name(m)}-alone")
                futures[f] = (k, m)
                try:
                    finished(k, f.result())
                except KilledWorker:
                    finished(k, Outcome(m.seed, reason=DIED))
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
