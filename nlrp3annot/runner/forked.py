"""Work shared with forked child processes: the first item here while children take the others
(:func:`here_and_forked`), and a large file's distinct alleles named by several processes
(:func:`name_in_parallel`). Below both the per-file job (:mod:`nlrp3annot.runner.pipeline`)
and the many-files runner (:mod:`nlrp3annot.runner.parallel`), which both use it.
"""

from __future__ import annotations

import gc
import os

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.naming.annotator import Annotator
from nlrp3annot.values import Variant, astuple, from_fields

# A file with this many distinct alleles for the general path (indels, MNVs, SNVs outside
# the coding codons: all but the SNVs named together) has them named by several processes;
# below it a pool costs more than it saves.
PARALLEL_NAMING_MIN = 2_000
# What naming one SNV together with the others costs, in general-path alleles (~8 us / ~60 us)
SNV_SHARE = 1 / 7
_NAMING: Annotator | None = None  # the annotator forked workers name with


def name_in_parallel(annotator: Annotator, variants: list[Variant], jobs: int) -> None:
    """Name a large file's distinct alleles in ``jobs`` forked processes, into the
    annotator's memory (each allele's rows do not depend on any other's): the workers take
    shares of the general path's alleles while this process names the coding SNVs together
    (:meth:`Annotator.plan_many`), then its own, smaller share."""
    global _NAMING
    plan, general = annotator.plan_many(variants)
    if len(general) < PARALLEL_NAMING_MIN or jobs < 2:
        annotator.name_planned(plan)
        return
    # this process's share is larger than a worker's (a worker also has to send its rows
    # back), less the SNVs it names first
    together = len(plan.variants) * SNV_SHARE if plan is not None else 0
    weight = len(general) + together
    own = max(int(weight * 1.2 / (jobs + 0.2) - together), 0)
    size = -(-(len(general) - own) // (jobs - 1))
    chunks = [general[:own]] + [general[i : i + size] for i in range(own, len(general), size)]

    def here(chunk: list[Variant]) -> None:
        annotator.name_planned(plan)
        for v in chunk:
            annotator.annotate(v)

    _NAMING = annotator
    try:
        named = here_and_forked(chunks, here, _name_chunk)
        for chunk, rows_of in zip(chunks[1:], named[1:], strict=True):
            for variant, rows in zip(chunk, rows_of, strict=True):
                annotator.remember(variant, [from_fields(fields) for fields in rows])
    finally:
        _NAMING = None


def in_shares(items: list, jobs: int, work, sent=None) -> list:
    """``[work(item) for item in items]``, the items cut into ``jobs`` runs of consecutive
    items, the first worked on here and the others in forked children
    (:func:`here_and_forked`); ``sent(item, result)``: what a child sends back of a result
    (default: all of it), e.g. without what this process holds already."""
    size = -(-len(items) // jobs)
    shares = [items[i : i + size] for i in range(0, len(items), size)]

    def here(share: list) -> list:
        return [work(item) for item in share]

    def forked(share: list) -> list:
        done = here(share)
        return done if sent is None else [sent(i, r) for i, r in zip(share, done, strict=True)]

    return [result for part in here_and_forked(shares, here, forked) for result in part]


def here_and_forked(items: list, here, forked) -> list:
    """``[here(items[0]), forked(items[1]), ...]``: the first item in this process while
    forked children take the others (this process would otherwise wait idle).

    Plain ``os.fork`` with one pipe per child: a ProcessPoolExecutor took 45-65 ms to get
    its first worker going, a sixth of the naming it was there to share."""
    import signal  # (here, not at start-up: a run that forks no child does not pay for it)

    # Objects the children inherit are moved out of the collector's reach first: a child's
    # collections would otherwise walk (and so copy) the whole inherited heap.
    gc.freeze()
    children = [_fork(forked, item) for item in items[1:]]
    try:
        first = here(items[0])
    except BaseException:
        for pid, reader in children:  # no one will read their results
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(reader)
        raise
    finally:
        gc.unfreeze()
    outcomes = [_collect(pid, reader) for pid, reader in children]  # all, to reap every child
    for ok, value in outcomes:
        if not ok:
            raise value
    return [first, *(value for _, value in outcomes)]


def _fork(work, item) -> tuple[int, int]:
    # (imported before the fork, so the child has it; not at start-up: a run that forks no
    # child, a small file, does not pay for it)
    import pickle

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work, send its pickle, and leave without cleanup
        os.close(reader)
        status = 0
        try:
            try:
                outcome = (True, work(item))
            except BaseException as exc:  # sent to the parent, which raises it
                outcome, status = (False, exc), 1
            try:
                data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # e.g. an exception that cannot be pickled
                data, status = pickle.dumps((False, RuntimeError(repr(exc)))), 1
            with os.fdopen(writer, "wb") as out:
                out.write(data)
        finally:
            os._exit(status)
    os.close(writer)
    return pid, reader


def _collect(pid: int, reader: int) -> tuple[bool, object]:
    """(True, result) or (False, the exception to raise) of one forked child."""
    import pickle  # (loaded by _fork)

    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return False, Nlrp3AnnotError(
            f"a worker process ended without a result (wait status {status}); "
            "if memory ran out, run again with fewer --jobs"
        )
    return pickle.loads(data)


def _name_chunk(variants: list[Variant]) -> list[list[tuple]]:
    """Rows as plain tuples of their fields: a dataclass pickles as a dict per object, which
    cost as much as naming the allele."""
    assert _NAMING is not None  # set by the parent before the fork
    return [[astuple(row) for row in _NAMING.annotate(v)] for v in variants]
