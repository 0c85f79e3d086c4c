"""What each candidate's verdict rests on, in words a lab reads (``scan.tsv``'s ``evidence``)
and as short codes (the VCF's ``SCAN_EVIDENCE``). Pure; the tests are
:mod:`nlrp3annot.reads.calling`'s own (:func:`~nlrp3annot.reads.calling.bias_p`,
:func:`~nlrp3annot.reads.calling.at_read_ends`), restated, not redone another way.

E.g. ``41 ALT of 812 fragments (F1R2 only: directional amplicon); beta-binomial P=3e-15
below the threshold 8.2e-05 (known pathogenic allele); strand test P=0.41 (passed);
orientation test not applicable (every fragment F1R2); read-end test passed (near a read
end: 2 of 41 ALT bases, 30 of 771 others); UMI molecules (each family counted once); called
in 2 of 2 libraries (A, B)``.
"""

from __future__ import annotations

from nlrp3annot.reads.assay import Assay
from nlrp3annot.reads.calling import Candidate, at_read_ends, bias_p
from nlrp3annot.reads.fragments import INDEL_FLANK, ORIENTATION_HALVES, STRAND_HALVES
from nlrp3annot.reads.settings import CallSettings

# (words, code): the code holds no space, comma, semicolon or '=' (a VCF INFO list value)
Part = tuple[str, str]


def evidence_parts(
    c: Candidate,
    assay: Assay | None,
    settings: CallSettings,
    libraries: tuple[str, ...] = (),
    read_by: tuple[str, ...] | None = None,
) -> list[Part]:
    """The evidence and tests of one candidate, in the order the call rule applies them.
    ``read_by``: with amplicon pools, the pools (libraries) that read its position."""
    parts = [_fragments(c, assay), _significance(c)]
    parts.append(_bias(c, STRAND_HALVES, ("forward", "reverse"), "strand", settings))
    parts.append(_bias(c, ORIENTATION_HALVES, ("F1R2", "F2R1"), "orientation", settings))
    parts.append(_read_ends(c, settings))
    if assay is not None and assay.umi:
        parts.append(("UMI molecules (each family counted once)", "umi_molecules"))
    if assay is not None and assay.primers_clipped:
        parts.append(("primer bases clipped", "primers_clipped"))
    if read_by is not None:
        parts.append(_pools(c, read_by))
    elif libraries:
        called, n = len(c.called_in), len(libraries)
        names = f" ({', '.join(c.called_in)})" if c.called_in else ""
        parts.append((f"called in {called} of {n} libraries{names}", f"libraries:{called}/{n}"))
    return parts


def evidence_text(parts: list[Part]) -> str:
    return "; ".join(words for words, _ in parts)


def evidence_codes(parts: list[Part]) -> str:
    return ",".join(code for _, code in parts)


def _orientations(c: Candidate) -> str:
    _, _, f1r2, f2r1 = c.orientation()
    if not f1r2 + f2r1:
        return "no fragment"
    return "F2R1 only" if not f1r2 else "F1R2 only" if not f2r1 else "both orientations"


def _fragments(c: Candidate, assay: Assay | None) -> Part:
    where = _orientations(c)
    design = f": {assay.design}" if assay is not None and assay.f1r2_share is not None else ""
    words = f"{c.alt_reads} ALT of {c.depth} fragments ({where}{design})"
    if c.untrusted:
        words += f", {c.untrusted} not evidence"
    code = f"fragments:{c.alt_reads}/{c.depth}:{where.replace(' ', '_')}"
    return words, code


def _significance(c: Candidate) -> Part:
    passed = c.p < c.threshold
    known = " (known pathogenic allele)" if c.known else ""
    words = (
        f"beta-binomial P={c.p:.2g} {'below' if passed else 'not below'} the threshold "
        f"{c.threshold:.2g}{known}"
    )
    return words, f"significance:{'passed' if passed else 'failed'}"


def _bias(c: Candidate, halves, names: tuple[str, str], test: str, settings) -> Part:
    """One bias test as the call rule made it, or why it could not be made."""
    p = bias_p(c, halves)
    if p is not None:
        passed = p >= settings.bias_alpha
        verdict = "passed" if passed else f"below {settings.bias_alpha:g}: {test} bias"
        return f"{test} test P={p:.2g} ({verdict})", f"{test}_test:{'passed' if passed else 'bias'}"
    depth = [sum(c.depth_cells[i] for i in h if c.trusted[i]) for h in halves]
    alt = [sum(c.alt_cells[i] for i in h if c.trusted[i]) for h in halves]
    if test == "orientation" and not all(c.trusted):
        why = f"the {c.untrusted.split(' ')[0]} reads are not evidence"
    elif not any(depth):
        why = "no fragment"
    elif min(depth) == 0:
        why = f"every fragment {names[0] if depth[0] else names[1]}"
    else:  # every fragment but the ALT ones in one half
        other = [d - a for d, a in zip(depth, alt, strict=True)]
        why = f"every other fragment {names[0] if other[0] else names[1]}"
    return f"{test} test not applicable ({why})", f"{test}_test:not_applicable"


def _read_ends(c: Candidate, settings: CallSettings) -> Part:
    if not c.is_snv:
        return (f"indel counted only {INDEL_FLANK}+ aligned bases from the read ends",
                "read_end_test:not_applicable")  # fmt: skip
    alt_near, alt_all, other_near, other_all = c.near_end
    if not alt_all:
        return "read-end test not applicable (no ALT base)", "read_end_test:not_applicable"
    share = (
        f"near a read end: {alt_near} of {alt_all} ALT bases, {other_near} of {other_all} others"
    )
    if at_read_ends(c, settings):
        return f"read-end test failed ({share})", "read_end_test:failed"
    return f"read-end test passed ({share})", "read_end_test:passed"


def _pools(c: Candidate, read_by: tuple[str, ...]) -> Part:
    """Amplicon pools: an overlap read by two pools (independent PCRs) needs both."""
    words = [label.replace("_", " ") for label in read_by]
    called = [label.replace("_", " ") for label in c.called_in]
    if len(read_by) == 1:
        there = "; called there" if called else ""
        return f"one pool reads this position ({words[0]}){there}", f"pools:{len(called)}/1"
    code = f"pools:{len(called)}/{len(read_by)}:overlap"
    if len(called) == len(read_by):
        return f"called in {' and '.join(called)} (overlap)", code
    which = f"called in {' and '.join(called)} only" if called else "called in no pool"
    return f"{which} of {' and '.join(words)} (overlap: each pool must call it)", code
