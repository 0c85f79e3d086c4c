"""Many VCF/BCF files into one result (:func:`annotate_files`): the job the command line and
the public API run. How the files' tasks are executed (serially, in forked processes, on a
Dask cluster) is :mod:`nlrp3annot.runner.parallel`; what one file gives is
:mod:`nlrp3annot.runner.pipeline`; finished files kept for ``--resume`` are
:mod:`nlrp3annot.runner.checkpoint`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.patients.zygosity import DEFAULT_OPTIONS, MosaicOptions
from nlrp3annot.runner.parallel import run_files
from nlrp3annot.runner.pipeline import DEFAULT_TRANSCRIPTS, Settings, TranscriptChoice
from nlrp3annot.values import AnnotationResult

if TYPE_CHECKING:
    from nlrp3annot.knowledge.columns import Knowledge


def annotate_files(
    paths: list[str | Path],
    fasta: str | Path | None = None,
    build: str = "auto",
    options: MosaicOptions = DEFAULT_OPTIONS,
    on_done: Callable[[str, AnnotationResult | None, str], None] | None = None,
    choice: TranscriptChoice = DEFAULT_TRANSCRIPTS,
    jobs: int = 1,
    scheduler: str | None = None,
    checkpoint=None,
    keep_lines: bool = False,
    coverage: tuple[tuple[str, str], ...] = (),
    shown: Mapping[str, str] | None = None,
    tsv_lines: bool = False,
    knowledge: Knowledge | None = None,
) -> AnnotationResult:
    """Annotate many VCF/BCF files into one result, in input order. A file that fails is
    recorded in ``failures`` with its one-line error and the others still run.
    ``on_done(path, result, error)`` is called after each file, in input order (progress
    bars, logs). ``jobs``: local worker processes; ``scheduler``: the address of a Dask
    distributed scheduler (``tcp://host:8786``) to send the files to instead. The result is
    the same whichever way it ran. ``checkpoint`` (runner.checkpoint.Checkpoint): files
    whose result it holds are not annotated again, and each new result is kept in it.
    ``keep_lines``: keep a single text VCF's lines for a VCF output (``source``).
    ``coverage``: (sample, BED) pairs, "" for every sample (``--coverage``). ``shown``: the
    name the outputs and ``on_done`` give a file read from another path (a results set's
    own scan VCFs, written under a staging folder that is renamed at the end).
    ``tsv_lines``: the result is only written as a TSV (``write_tsv``): its sample rows may
    be their TSV lines (:class:`~nlrp3annot.values.TsvLine`), as the worker processes wrote
    them, and it holds no ``annotations`` (their columns are in the table's rows).
    ``knowledge``: the known-variant tables this process looks the alleles up in (default:
    loaded by the run); a caller that looks the same alleles up afterwards (the VCF output's
    findings) passes its own, and finds them looked up already."""
    settings = Settings(
        None if fasta is None else str(fasta),
        build,
        options,
        choice,
        keep_lines,
        coverage,
        tsv_lines,
    )
    combined = AnnotationResult([], [], [], [], {"files": 0, "files_failed": 0})
    per_file = []
    paths = [str(p) for p in paths]
    kept = {p: checkpoint.load(p, settings) for p in paths} if checkpoint else {}
    shown = dict(shown or {})
    todo = [p for p in paths if kept.get(p) is None]
    fresh = run_files(todo, settings, jobs, scheduler, shown, knowledge)
    for path in paths:
        result, error = kept.get(path), ""
        name = shown.get(path, path)
        if result is None:
            done, result, error = next(fresh)
            assert done == name  # run_files keeps input order
            if result is not None and checkpoint is not None:
                checkpoint.save(path, settings, result)
        if result is None:
            combined.failures.append((name, error))
            if on_done:
                on_done(name, None, error)
            continue
        combined.annotations += result.annotations
        combined.table += result.table
        combined.skipped += result.skipped
        combined.patients += result.patients
        combined.source = result.source if len(paths) == 1 else None
        per_file.append(result.summary)
        if on_done:
            on_done(name, result, "")
    combined.summary = {
        "files": len(per_file),
        "files_failed": len(combined.failures),
        "per_file": per_file,
        "failures": [{"file": f, "error": e} for f, e in combined.failures],
    }
    return combined
