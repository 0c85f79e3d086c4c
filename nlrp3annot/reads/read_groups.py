"""Replicate libraries merged into one file: one @RG line per library (same SM, different
LB), each read carrying its read group in an ``RG:Z`` tag. Such a file is split by its
reads' libraries into one indexed BAM each, over the region the scan reads, so that each
library is counted and judged as it would be from a file of its own
(:mod:`nlrp3annot.reads.replicates`). Reads that name no library (no RG tag, an RG not in
the header, or a read group without LB) cannot be assigned: the file is refused.
"""

from __future__ import annotations

from pathlib import Path

from nlrp3annot.errors import InputFileError


def group_libraries(handle) -> dict[str, str]:
    """Each read group's ID -> its LB (read groups without LB left out)."""
    groups = handle.header.to_dict().get("RG", [])
    return {g["ID"]: g["LB"] for g in groups if g.get("ID") and g.get("LB")}


def merged_libraries(handle) -> list[str]:
    """The libraries of a file holding two or more (sorted), else none: nothing to split."""
    libraries = sorted(set(group_libraries(handle).values()))
    return libraries if len(libraries) > 1 else []


def split_libraries(path: Path, handle, region: str, folder: Path) -> dict[str, Path]:
    """The reads of ``handle`` over ``region`` (``contig:start-end``, 1-based) written to
    one indexed BAM per library (LB -> file, in the reads' order: still sorted) in
    ``folder``. Refused where any read there names no library of the header."""
    import pysam

    libraries = group_libraries(handle)
    contig, span = region.split(":")
    lo, hi = (int(x) for x in span.split("-"))
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{len(list(folder.iterdir()))}"
    names = sorted(set(libraries.values()))
    out = {lb: folder / f"{stem}.{n}.bam" for n, lb in enumerate(names)}
    writers = {lb: pysam.AlignmentFile(str(f), "wb", template=handle) for lb, f in out.items()}
    by_group = {group: writers[lb] for group, lb in libraries.items()}
    unassigned = 0
    try:
        for read in handle.fetch(contig, lo - 1, hi):
            try:
                by_group[read.get_tag("RG")].write(read)
            except KeyError:  # no RG tag, or one of no read group with LB
                unassigned += 1
    finally:
        for writer in writers.values():
            writer.close()
    if unassigned:
        raise InputFileError(
            path, f"holds the libraries {', '.join(names)} but {unassigned:,} of its reads "
            f"over {region} carry no RG tag of a read group with LB: they cannot be assigned "
            "to a library",
            "tag every read with its read group (RG:Z), or give each library its own file",
        )  # fmt: skip
    for f in out.values():
        pysam.index(str(f))
    return out


def library_sources(paths, opened, regions: list[str], fasta: Path, folder: Path) -> list:
    """Each library's reads as (file index, library label, path to read, opened handle):
    a file of one library (or none) as it is, a file of two or more split
    (:func:`split_libraries`, its original closed). ``opened`` ends as the handles
    returned (the caller closes them, also after a refusal)."""
    from nlrp3annot.reads.alignments import close_quietly, open_alignments
    from nlrp3annot.reads.files import read_failure
    from nlrp3annot.reads.replicates import library_label, library_names

    sources = []
    for i, (path, handle) in enumerate(zip(paths, list(opened), strict=True)):
        if not merged_libraries(handle):
            sources.append((i, library_label(library_names(handle), Path(path).name),
                            Path(path), handle))  # fmt: skip
            continue
        try:
            parts = split_libraries(Path(path), handle, regions[i], folder)
        except OSError as exc:  # htslib: "truncated file", naming nothing
            raise read_failure(Path(path), handle, exc) from None
        close_quietly(handle)
        for lb, part in parts.items():
            opened.append(open_alignments(part, fasta))  # closed by the caller, come what may
            sources.append((i, library_label(frozenset([lb]), part.name), part, opened[-1]))
    opened[:] = [handle for *_, handle in sources]
    return sources
