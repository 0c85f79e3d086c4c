"""Independent per-file work spread over this process, forked worker processes or a Dask
cluster, with the results back in input order whichever way it ran (``scan --jobs`` and
``--scheduler``: each file's reads counted apart, the calling joint in the caller).

The work is a picklable top-level function of one picklable item that never raises for
the user's input (it returns the one-line message instead). What the machinery itself
can get wrong ends the run in one line (:class:`~nlrp3annot.errors.Nlrp3AnnotError`): a
forked worker that died, a lost Dask worker or scheduler, a cluster with no workers (as
``annotate`` on a cluster: :mod:`nlrp3annot.runner.parallel`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.runner.parallel import close_quietly, cluster_result, connect


class Spread:
    """Runs ``work`` over items; ``remote``: the work runs on other machines (it must be
    given absolute paths, and a file it cannot see is named as such)."""

    remote = False

    def map(self, work: Callable, items: Sequence, names: Sequence[str]) -> Iterator:
        """``work(item)`` for each item, in input order; ``names``: each item's file, for
        a failure of the machinery."""
        return map(work, items)


class _Forked(Spread):
    def __init__(self, pool) -> None:
        self.pool = pool

    def map(self, work: Callable, items: Sequence, names: Sequence[str]) -> Iterator:
        from concurrent.futures.process import BrokenProcessPool

        results = self.pool.map(work, items, chunksize=1)  # files are large units
        try:
            yield from results
        except BrokenProcessPool:
            raise Nlrp3AnnotError(
                "a worker process ended without a result (killed, or out of memory); run "
                "again, with fewer --jobs if memory ran out"
            ) from None


class _Cluster(Spread):
    remote = True

    def __init__(self, client) -> None:
        self.client = client

    def map(self, work: Callable, items: Sequence, names: Sequence[str]) -> Iterator:
        futures = self.client.map(work, list(items), pure=False)
        for name, future in zip(names, futures, strict=True):
            yield cluster_result(self.client, name, future)


@contextmanager
def spread(jobs: int, scheduler: str | None, files: int) -> Iterator[Spread]:
    """A :class:`Spread` over ``files`` files: on the Dask scheduler at ``scheduler``, in
    ``jobs`` forked processes, or (one job or one file) here."""
    if scheduler:
        with _cluster(scheduler) as spreading:
            yield spreading
        return
    if jobs <= 1 or files <= 1:
        yield Spread()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")  # the parent's loaded FASTA inherited
    pool = ProcessPoolExecutor(max_workers=min(jobs, files), mp_context=context)
    try:
        yield _Forked(pool)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # a failed run waits for no file
        raise
    pool.shutdown()


@contextmanager
def _cluster(address: str) -> Iterator[Spread]:
    client = connect(address)
    try:
        yield _Cluster(client)
    except Nlrp3AnnotError:
        close_quietly(client)
        raise
    client.close()
