"""The records of a sites-only text VCF (no sample columns), from their raw lines.

A registry's sites-only VCF (every possible coding SNV, ClinVar, gnomAD) is 10^4 locus
records with nothing but the eight fixed columns, so the per-line cost is the whole cost:
this loop is :func:`nlrp3annot.io.text_reader.read_records` without the sample columns
(same errors, same counts, same records; tests/test_site_reader.py compares it with htslib's
reading), INFO is decoded only when it may hold an END, and a one-base SNV (most such
records) is made here without the general split into alleles.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from nlrp3annot.errors import RecordError
from nlrp3annot.io.vcf import (
    CHR1_NAMES,
    PLAIN_BASES,
    VcfScan,
    new_record,
    new_variant,
    split_alleles,
    window_of,
)


def _no_calls(_allele: int) -> tuple:
    return ()


def fixed_columns(
    raw: bytes | str, number: int, shown: Path, split: int
) -> tuple[bytes, list[bytes], str, int, str]:
    """(line, its columns split ``split`` times, CHROM, POS, REF) of one raw data line; a
    line without the 8 fixed columns or with a POS that is not a number is refused."""
    line = raw.encode() if isinstance(raw, str) else raw
    line = line.rstrip(b"\r\n")
    head = line.split(b"\t", split)
    if len(head) < 8:
        raise RecordError(shown, f"#{number}", "has fewer than 8 tab-separated columns")
    try:
        pos = int(head[1])
    except ValueError:
        shown_pos = head[1][:20].decode(errors="replace")
        raise RecordError(shown, f"#{number}", f"POS {shown_pos!r} is not a number") from None
    return line, head, head[0].decode(errors="replace"), pos, head[3].decode(errors="replace")


def id_and_filter(head: list[bytes]) -> tuple[str, str]:
    """A record's ID and FILTER as the records carry them ('.' when empty)."""
    record_id = head[2].decode(errors="replace") or "."
    return record_id, head[6].decode(errors="replace") if head[6] not in (b"", b".") else "."


def read_sites(
    scan: VcfScan,
    lines: Iterable[tuple[int, bytes | str]],
    windows: dict[str, tuple[int, int]],
    fetched: bool,
    end_of,
) -> None:
    """Fill ``scan`` (which reports on no sample) from numbered raw data lines; ``end_of``:
    the INFO text's END match or None (the text reader's pattern)."""
    shown = Path(scan.path)
    spans = list(windows.items())
    records = scan.records
    for number, raw in lines:
        if fetched:
            scan.records_read += 1
        # (split 8 times: the columns after INFO are not read)
        _, head, chrom, pos, ref = fixed_columns(raw, number, shown, 8)
        end_match = None
        if b"END=" in head[7]:  # (an ASCII key: in the bytes exactly when in the decoded text)
            end_match = end_of(head[7].decode(errors="replace"))
        if end_match:
            end = int(end_match.group(1))
            # a gVCF block reaches as far as its END: one starting before the window can
            # cover it
            build = window_of(chrom, pos, max(len(ref), end - pos + 1), windows)
        else:  # window_of's test, inline
            end = pos + max(len(ref), 1) - 1
            build = None
            if chrom in CHR1_NAMES:
                for name, (lo, hi) in spans:
                    if pos <= hi and end >= lo:
                        build = name
                        break
        if build is None:
            if not fetched:
                scan.outside += 1
            continue
        record_id, filt = id_and_filter(head)
        if len(ref) == 1 and len(head[4]) == 1 and ref in PLAIN_BASES:
            alt = head[4].decode(errors="replace")
            if alt in PLAIN_BASES and alt.upper() != ref.upper():  # split_alleles' answer
                variant = new_variant(chrom, pos, ref, alt)
                records[build].append(new_record(number, variant, record_id, filt, 1, 1, ()))
                continue
        alts = [] if head[4] in (b".", b"") else head[4].decode(errors="replace").split(",")
        split_alleles(
            shown,
            number,
            chrom,
            pos,
            ref,
            alts,
            record_id,
            filt,
            build,
            scan,
            _no_calls,
        )
