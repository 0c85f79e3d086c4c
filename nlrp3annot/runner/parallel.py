"""Many files at once: serially, in a local process pool, or on a Dask cluster.

The unit of work is a task: one VCF, or one shard of a joint VCF's samples. A joint VCF is
split by samples, not by region, because a patient's status needs all of that patient's
calls across the locus (the sample's own codons, the depth at every pathogenic position):
a sample shard holds whole patients, so its rows are final, and shards only need to be
put back in sample order. Results come back in input order whichever way they ran, and are
identical to a serial run (tested).

Every process keeps one :class:`~nlrp3annot.runner.pipeline.Session` per settings: the ClinVar
table, the FASTA's locus and the named alleles are loaded once per worker, not once per file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.io.vcf import sample_names
from nlrp3annot.runner.forked import here_and_forked
from nlrp3annot.runner.pipeline import Session, Settings
from nlrp3annot.values import AnnotationResult

if TYPE_CHECKING:  # concurrent.futures (and logging under it): only the cluster path
    from concurrent.futures import CancelledError

    from nlrp3annot.knowledge.columns import Knowledge

# A joint VCF with at least this many samples is split into sample shards when there are
# spare workers (locally: fewer files than workers; on a cluster: always).
SHARD_MIN_SAMPLES = 1_000
CLUSTER_SHARD_SAMPLES = 5_000  # samples per task on a cluster

_SESSIONS: dict[Settings, Session] = {}


def session_for(settings: Settings) -> Session:
    """This process's session for ``settings`` (made on first use)."""
    session = _SESSIONS.get(settings)
    if session is None:
        session = _SESSIONS[settings] = Session(settings)
    return session


@dataclass(frozen=True)
class Task:
    path: str  # as the user gave it: what the outputs name
    samples: tuple[str, ...] | None = None  # a shard of the file's samples, or all
    shard: int = 0
    shards: int = 1
    read_from: str | None = None  # where a cluster worker reads it (absolute)


# A task's sample rows go back as TSV lines up to this many (a lab's single-sample files);
# above it, a joint VCF's rows share their site and reading parts, and held as text in the
# parent until written they took 225 MB where the rows take 127 (W4, 20,000 samples)
TSV_LINES_MAX_ROWS = 5_000


def run_task(
    task: Task, settings: Settings, sent: bool = False, tables: tuple[str, str] | None = None
) -> tuple[AnnotationResult | None, str]:
    """Annotate one task; a user-input problem comes back as its one-line message.
    ``sent``: the result goes to another process (with ``settings.tsv_lines``, its sample
    rows go as their TSV lines when there are few of them). ``tables``: (digest, name) of
    the ClinVar table the run's other results come from (a cluster's task): another table
    here ends the run (:class:`TablesDiffer`), never a row from it."""
    if tables is not None:
        _same_tables(session_for(settings).knowledge, *tables)
    try:
        session = session_for(settings)
        samples = list(task.samples) if task.samples is not None else None
        if task.read_from is None:
            result = session.annotate_file(task.path, samples)
        else:
            result = session.annotate_file(task.read_from, samples, shown=task.path)
    except Nlrp3AnnotError as exc:
        return None, str(exc)
    if settings.tsv_lines and sent and len(result.table) <= TSV_LINES_MAX_ROWS:
        # the rows as the TSV writes them: less to send and redo for a small file's rows
        from nlrp3annot.io.writers import as_tsv_lines

        result.table = as_tsv_lines(result.table)
        result.annotations = []  # (their columns are in the rows; a TSV needs no more)
    return result, ""


def default_jobs() -> int:
    """The cores this process may use: the smallest of its CPU affinity (taskset, a batch
    system's binding), the scheduler's allotment (Slurm's ``SLURM_CPUS_PER_TASK``) and a
    cgroup CPU quota (containers), so a job given 1 core of 64 starts 1 worker, not 64."""
    try:
        limits = [len(os.sched_getaffinity(0))]
    except AttributeError:  # not on Linux
        limits = [os.cpu_count() or 1]
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "").strip()
    if slurm.isdigit() and int(slurm) > 0:
        limits.append(int(slurm))
    quota = cgroup_cpus()
    if quota is not None:
        limits.append(quota)
    return max(min(limits), 1)


def cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Whole CPUs of the cgroup's quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``), at least 1; None without a quota."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1") or not quota.lstrip("-").isdigit() or not period.isdigit():
        return None
    return max(int(quota) // max(int(period), 1), 1)


def plan(files: list[Task], workers: int, cluster: bool) -> list[Task]:
    """Tasks for ``files`` (whole-file tasks): whole files, and sample shards of large joint
    VCFs when there are workers to spare."""
    if not cluster and (workers <= 1 or len(files) >= workers):
        return list(files)
    tasks = []
    for whole in files:
        names = sample_names(whole.read_from or whole.path)
        if len(names) < SHARD_MIN_SAMPLES:
            tasks.append(whole)
            continue
        count = math.ceil(len(names) / CLUSTER_SHARD_SAMPLES) if cluster else workers
        count = max(min(count, len(names)), 1)
        size = math.ceil(len(names) / count)
        chunks = [names[i : i + size] for i in range(0, len(names), size)]
        tasks += [replace(whole, samples=tuple(c), shard=i, shards=len(chunks))
                  for i, c in enumerate(chunks)]  # fmt: skip
    return tasks


def merge_shards(parts: list[AnnotationResult]) -> AnnotationResult:
    """One file's result from its sample shards, in sample order: site rows and skipped
    alleles are the same in every shard; sample rows and patients are concatenated."""
    first = parts[0]
    summary = dict(first.summary)
    summary["rows"] = sum(p.summary["rows"] for p in parts)
    summary["samples"] = sum(p.summary["samples"] for p in parts)
    return AnnotationResult(
        list(first.annotations),
        [row for p in parts for row in p.table],
        list(first.skipped),
        [row for p in parts for row in p.patients],
        summary,
        source=first.source,  # every shard read the same lines
    )


def run_files(
    paths: list[str],
    settings: Settings,
    jobs: int = 1,
    scheduler: str | None = None,
    shown: Mapping[str, str] | None = None,
    knowledge: Knowledge | None = None,
) -> Iterator[tuple[str, AnnotationResult | None, str]]:
    """(name, result, error) for each path, in input order; ``shown``: the name the outputs
    give a file read from another path (else the path as given); ``knowledge``: the tables
    this process's session and the workers it forks look alleles up in during this run
    (default: the session's own, loaded when it was made). A cluster's workers use their
    own, which must be these (by digest), else the run stops (:class:`TablesDiffer`)."""
    files = [_file(p, shown or {}) for p in paths]
    kept = _SESSIONS.get(settings)
    ours = knowledge is not None and (kept is None or kept.knowledge is not knowledge)
    if ours:
        _SESSIONS[settings] = Session(settings, knowledge)
    try:
        if scheduler:
            # the workers must look alleles up in this process's tables: theirs may be
            # another ClinVar update (another machine's cache), or not the caller's
            if knowledge is None:
                knowledge = kept.knowledge if kept is not None else _load_knowledge()
            outcomes = _on_cluster(files, settings, scheduler, knowledge)
        elif jobs > 1 and len(files) > 0:
            outcomes = _in_pool(files, settings, jobs)
        else:
            outcomes = ((task, *run_task(task, settings)) for task in files)
        yield from _gather(outcomes)
    finally:  # the caller's tables were for this run only: later runs get the session's own
        if ours:
            if kept is None:
                _SESSIONS.pop(settings, None)
            else:
                _SESSIONS[settings] = kept


def _file(path: str, shown: Mapping[str, str]) -> Task:
    """The whole-file task of ``path``, named as the outputs will name it."""
    return Task(shown[path], read_from=path) if path in shown else Task(path)


def _gather(outcomes) -> Iterator[tuple[str, AnnotationResult | None, str]]:
    """Put sample shards of one file back together; pass whole files through."""
    pending: list[AnnotationResult] = []
    error = ""
    for task, result, message in outcomes:
        if task.shards == 1:
            yield task.path, result, message
            continue
        if result is None:
            error = error or message
        else:
            pending.append(result)
        if task.shard == task.shards - 1:
            if error:
                yield task.path, None, error
            else:
                yield task.path, merge_shards(pending), ""
            pending, error = [], ""


def _in_pool(files: list[Task], settings: Settings, jobs: int):
    tasks = plan(files, jobs, cluster=False)
    if len(tasks) == 1:  # one file: its alleles may still be named in parallel
        session = session_for(settings)
        session.jobs = jobs
        try:
            yield tasks[0], *run_task(tasks[0], settings)
        finally:
            session.jobs = 1
        return
    session_for(settings)  # loaded once here, inherited by the forked workers
    if len(tasks) <= jobs:  # a few large tasks (sample shards): this process runs one too
        here = partial(run_task, settings=settings)
        forked = partial(run_task, settings=settings, sent=True)
        for task, (result, message) in zip(
            tasks, here_and_forked(tasks, here, forked), strict=True
        ):
            yield task, result, message
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    chunk = max(1, min(16, len(tasks) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
        sent = [True] * len(tasks)
        results = pool.map(run_task, tasks, [settings] * len(tasks), sent, chunksize=chunk)
        for task, (result, message) in zip(tasks, results, strict=True):
            yield task, result, message


def connect(address: str):
    """A Dask client of the scheduler at ``address`` (annotate's and scan's ``--scheduler``),
    or one line saying why not."""
    try:
        from distributed import Client
    except ImportError:
        raise Nlrp3AnnotError(
            "--scheduler needs Dask distributed: pip install 'nlrp3annot[cluster]'"
        ) from None
    no_workers_seconds()  # a bad NLRP3ANNOT_NO_WORKERS_SECONDS is refused before any work
    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise Nlrp3AnnotError(
            f"cannot reach the Dask scheduler at {address} ({exc}); check the address and "
            "that 'dask scheduler' is running"
        ) from None


def _load_knowledge() -> Knowledge:
    from nlrp3annot.knowledge.columns import Knowledge

    return Knowledge.load()


class TablesDiffer(Nlrp3AnnotError):
    """A cluster worker's ClinVar table is not the one the run uses: the run stops."""


def _same_tables(here: Knowledge, digest: str, name: str) -> None:
    if here.clinvar.digest != digest:
        raise TablesDiffer(
            f"a Dask worker's ClinVar table ({here.source}) is not this run's ({name}): "
            "give the workers the same table (a shared NLRP3ANNOT_CACHE, or 'nlrp3annot "
            "knowledge update' on them) or run without --scheduler"
        )


def _on_cluster(files: list[Task], settings: Settings, address: str, knowledge: Knowledge):
    client = connect(address)
    with client:
        # a worker has its own working folder, often on another machine: it gets absolute
        # paths (the outputs still name each file as it was given)
        tasks = [
            replace(t, read_from=os.path.abspath(t.read_from or t.path))
            for t in plan(files, 0, True)
        ]
        given = settings.fasta
        if settings.fasta and "://" not in settings.fasta:
            settings = replace(settings, fasta=os.path.abspath(settings.fasta))
        if settings.choice.gff:  # read by every worker too
            gff = tuple(os.path.abspath(g) for g in settings.choice.gff)
            settings = replace(settings, choice=replace(settings.choice, gff=gff))
        # each task checks that its worker's ClinVar table is this one (by a digest of its
        # rows): sending the table itself made every task depend on the worker holding it,
        # and Dask then ran them all there
        tables = (knowledge.clinvar.digest, knowledge.source)
        futures = client.map(
            run_task, tasks, settings=settings, sent=True, tables=tables, pure=False
        )
        for task, future in zip(tasks, futures, strict=True):
            try:
                result, message = cluster_result(client, task.path, future)
            except Nlrp3AnnotError:
                close_quietly(client)
                raise
            if result is not None and result.summary.get("sequence") == settings.fasta:
                result.summary["sequence"] = given  # named as given, as a local run names it
            if "no such file" in message:
                message += " (as a Dask worker sees it: the workers must see the same files)"
            yield task, result, message


def close_quietly(client) -> None:
    """Close the client of a run the cluster failed: the run's one line says why, and the
    client's log of giving up on a scheduler that went away (a traceback) is not for the
    user. Logging is off only while it closes."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        client.close()
    finally:
        logging.disable(previous)


NO_WORKERS_SECONDS = 60  # with no worker for this long, a cluster run stops (never hangs)
NO_WORKERS_VARIABLE = "NLRP3ANNOT_NO_WORKERS_SECONDS"  # another wait (workers slow to start)


def no_workers_seconds() -> float:
    """How long a cluster run waits without any worker: NLRP3ANNOT_NO_WORKERS_SECONDS when
    set (a number of seconds above 0), else NO_WORKERS_SECONDS."""
    text = os.environ.get(NO_WORKERS_VARIABLE, "").strip()
    if not text:
        return NO_WORKERS_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise Nlrp3AnnotError(f"{NO_WORKERS_VARIABLE}={text}: give a number of seconds above 0")
    return seconds


def cluster_result(client, name: str, future):
    """The outcome of the task of the file ``name``; a lost worker, a lost scheduler or no
    workers at all end the run in one line (Nlrp3AnnotError), never a traceback or a hang."""
    import time
    from concurrent.futures import CancelledError

    from distributed import wait

    limit = no_workers_seconds()
    alone_since = None
    while True:
        try:
            wait(future, timeout=min(5, limit))
        except TimeoutError:
            workers = _worker_count(client)
            if workers:
                alone_since = None
                continue
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since > limit:
                raise Nlrp3AnnotError(
                    f"no Dask worker left for {limit:g} s while {name} was "
                    "pending; start workers ('dask worker ADDRESS') and run again"
                ) from None
            continue
        except OSError as exc:
            raise _lost_scheduler(exc) from None
        except CancelledError as exc:
            raise _cancelled(exc) from None
        break
    try:
        return future.result()
    except Nlrp3AnnotError:
        raise
    except OSError as exc:
        raise _lost_scheduler(exc) from None
    except CancelledError as exc:
        raise _cancelled(exc) from None
    except Exception as exc:  # distributed's KilledWorker and the like: the cluster, not us
        raise Nlrp3AnnotError(
            f"{name}: the Dask cluster could not run it ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}); a worker died (memory?) or was stopped: "
            "check the workers' logs and run again"
        ) from None


def _worker_count(client) -> int:
    try:
        return len(client.scheduler_info().get("workers", {}))
    except OSError as exc:
        raise _lost_scheduler(exc) from None


def _cancelled(exc: CancelledError) -> Nlrp3AnnotError:
    """The run's tasks were cancelled under it: by this client when the scheduler went
    away, or by the scheduler (restarted, or the tasks cancelled from another client)."""
    reasons = [g.reason for g in getattr(exc, "error_groups", [])]
    reasons = reasons or [getattr(exc, "reason", "unknown")]
    if "scheduler-connection-lost" in reasons:
        return Nlrp3AnnotError(
            "lost the Dask scheduler (the connection to it closed during the run); check that "
            "it is running and run again"
        )
    return Nlrp3AnnotError(
        f"the Dask scheduler cancelled the run's tasks (reason: {reasons[0]}); was the "
        "cluster restarted? run again"
    )


def _lost_scheduler(exc: Exception) -> Nlrp3AnnotError:
    return Nlrp3AnnotError(
        f"lost the Dask scheduler ({type(exc).__name__}: {exc}); check that it is running "
        "and run again"
    )
