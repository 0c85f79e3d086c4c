"""nlrp3annot: find and name NLRP3 (CIAS1, cryopyrin) variants in patient VCFs.

Library use returns pandas DataFrames::

    import nlrp3annot
    table = nlrp3annot.annotate_vcf("patient.vcf.gz", fasta="GRCh38.fa")
    table[["hgvs_c", "hgvs_p", "consequence"]]
    table.attrs["skipped"]   # alleles not annotated, each with its reason

One variant, no VCF::

    nlrp3annot.annotate_variant("chr1", 247424227, "C", "T", fasta="GRCh38.fa")

Mosaics in the reads (BAM/CRAM), every candidate and known pathogenic allele::

    scan = nlrp3annot.scan_reads(["P16.bam", "P17.cram"], fasta="GRCh38.fa")
    scan[scan["verdict"] == "called"][["sample", "pos", "ref", "alt", "vaf", "p"]]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import (
    FetchError,
    InputFileError,
    Nlrp3AnnotError,
    RecordError,
    ReferenceMismatchError,
)

if TYPE_CHECKING:
    import pandas

__version__ = "0.1.0"


def annotate_vcf(
    path: str | Path, fasta: str | Path | None = None, build: str = "auto"
) -> pandas.DataFrame:
    """Annotate every NLRP3 variant allele of one VCF/BCF file.

    One row per variant allele per transcript. ``fasta`` is a GRCh38 or GRCh37 genome FASTA;
    without it the locus cached by ``nlrp3annot reference fetch`` is used. ``build`` is
    ``"auto"`` (from the VCF header and REF alleles), ``"GRCh38"`` or ``"GRCh37"``.
    The frame's ``attrs`` hold ``skipped`` (alleles not annotated, with reasons) and
    ``summary`` (counts, build, sequence source).
    """
    from nlrp3annot.runner.pipeline import annotate_file

    return annotate_file(path, fasta=fasta, build=build).to_frame()


def annotate_vcfs(
    paths: list[str | Path],
    fasta: str | Path | None = None,
    build: str = "auto",
    min_depth: int = 20,
    mosaic_alpha: float = 0.01,
    max_mosaic_vaf: float = 0.40,
    noise_floor: float = 0.01,
    min_alt_reads: int = 5,
    jobs: int = 1,
    scheduler: str | None = None,
) -> pandas.DataFrame:
    """Annotate many VCF/BCF files into one table (column ``file`` says which).

    With samples, one row per sample x allele it carries, with zygosity, allele fraction and
    the protein change on the sample's own haplotype (``hgvs_p_sample``). ``attrs`` hold
    ``patients`` (one summary row per sample, status positive_germline / positive_mosaic /
    not_assessable / vus_only / negative), ``skipped``, ``failures`` (files that could not
    be read, each with its error; the others still run) and ``summary``::

        table = nlrp3annot.annotate_vcfs(["a.vcf.gz", "b.vcf.gz"], fasta="GRCh38.fa")
        patients = pandas.DataFrame(table.attrs["patients"])

    ``noise_floor`` and ``min_alt_reads``: what a mosaic from a caller's VCF needs (ALT reads
    significantly above that per-base error rate, and at least that many).
    ``jobs``: worker processes on this machine; ``scheduler``: a Dask distributed scheduler
    address (``"tcp://host:8786"``) to run on a cluster. The table is the same either way.
    """
    from nlrp3annot.patients.zygosity import MosaicOptions
    from nlrp3annot.runner.batch import annotate_files

    options = MosaicOptions(
        min_depth=min_depth,
        alpha=mosaic_alpha,
        max_vaf=max_mosaic_vaf,
        noise_floor=noise_floor,
        min_alt_reads=min_alt_reads,
    )
    result = annotate_files(
        list(paths), fasta=fasta, build=build, options=options, jobs=jobs, scheduler=scheduler
    )
    return result.to_frame()


def compare(
    genotypes: str | Path | list[str | Path],
    clinical: str | Path,
    samples: str | Path,
    out: str | Path,
    group_rule: str | None = None,
    plan: str | Path | None = None,
) -> dict:
    """Join the patient summary of ``annotate`` to a clinical table and a samples sheet,
    compare mutation-positive with mutation-negative patients, and write ``out/summary.json``,
    ``out/tables/*.tsv`` and ``out/report.html``. Returns the summary::

        summary = nlrp3annot.compare("patients.tsv", "response.xlsx", "samples.csv", "results")
        summary["comparison"]["primary_endpoints"]   # the plan's family, adjusted P
        nlrp3annot.compare(..., plan="plan.toml")      # your own analysis plan

    ``group_rule`` overrides the plan's (default strict)."""
    from nlrp3annot.response.analysis import run_analysis
    from nlrp3annot.response.plan import load_plan

    loaded = load_plan(plan) if plan is not None else None
    return run_analysis(genotypes, clinical, samples, out, rule=group_rule, plan=loaded).summary


def lookup(query: str, transcript: str | None = None) -> list[dict]:
    """Known variants by a legacy or HGVS name: ``lookup("R260W")``,
    ``lookup("p.Arg262Trp", transcript="NM_004895.4")``, ``lookup("c.907G>A")``."""
    from nlrp3annot.knowledge.lookup import lookup as find

    return find(query, transcript=transcript)


def annotate_variant(
    chrom: str, pos: int, ref: str, alt: str, fasta: str | Path, build: str = "auto"
) -> pandas.DataFrame:
    """Annotate one VCF-style allele (1-based ``pos``) against a genome FASTA."""
    import pandas as pd

    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.genome.sequence import fasta_build
    from nlrp3annot.naming.annotator import Annotator
    from nlrp3annot.values import Variant

    seq = fasta_build(fasta)
    if build not in ("auto", seq.build):
        raise ReferenceMismatchError(f"{fasta}: is {seq.build}, not {build}")
    annotator = Annotator([mane_transcript(seq.build)], seq)
    if not annotator.in_locus(pos, ref):
        raise Nlrp3AnnotError(f"{chrom}:{pos} is outside the NLRP3 locus on {seq.build}")
    return pd.DataFrame([r.as_dict() for r in annotator.annotate(Variant(chrom, pos, ref, alt))])


def scan_reads(
    paths: list[str | Path],
    fasta: str | Path,
    *,
    panel: str | Path | None = None,
    umi_tag: str | None = None,
    umi_from_name: bool = False,
) -> pandas.DataFrame:
    """Scan BAM/CRAM reads for low-fraction alleles (see ``nlrp3annot scan``): one row per
    candidate and per known pathogenic allele, with fragment counts per strand and read
    orientation, VAF and its 95% CI, background, P, threshold, verdict and limit of
    detection; ``attrs["limits"]``: per sample, a :class:`nlrp3annot.values.ScanLimits`
    (limits of detection at the known pathogenic alleles, for small indels and for other
    coding SNVs). ``panel``: a panel of normals made by ``scan --make-panel``;
    ``umi_tag``: collapse the reads of each UMI family first; ``umi_from_name``: the
    same, the UMIs read from the read names (``scan --umi-from-name``).

    >>> table = nlrp3annot.scan_reads(["P16.bam"], fasta="GRCh38.fa")
    >>> table[table.verdict == "called"][["sample", "hgvs_p", "vaf"]]
    """
    import pandas as pd

    from nlrp3annot.reads.alignments import ReadFilters
    from nlrp3annot.reads.panel import load_panel
    from nlrp3annot.reads.scan import DEFAULT_SETTINGS, scan_alignments
    from nlrp3annot.reads.scan_output import TSV_COLUMNS, tsv_row

    filters = ReadFilters(umi_tag=umi_tag, umi_from_name=umi_from_name)
    result = scan_alignments(
        list(paths), fasta, DEFAULT_SETTINGS, filters,
        panel=load_panel(panel) if panel else None,
    )  # fmt: skip
    rows = [
        tsv_row(result, sample, c)
        for sample in result.samples
        for c in sorted(sample.candidates, key=lambda c: (c.pos, c.alt))
    ]
    frame = pd.DataFrame(rows, columns=TSV_COLUMNS)
    for column in ("pos", "depth", "alt_reads", "alt_forward", "alt_reverse", "alt_f1r2",
                   "alt_f2r1"):  # fmt: skip
        frame[column] = frame[column].astype(int)
    for column in ("vaf", "vaf_ci_lower", "vaf_ci_upper", "background", "rho", "p",
                   "threshold"):  # fmt: skip
        frame[column] = pd.to_numeric(frame[column])
    frame.attrs["limits"] = {s.sample: s.limits for s in result.samples}
    return frame


__all__ = [
    "scan_reads",
    "annotate_vcf",
    "annotate_vcfs",
    "annotate_variant",
    "compare",
    "lookup",
    "Nlrp3AnnotError",
    "InputFileError",
    "RecordError",
    "ReferenceMismatchError",
    "FetchError",
    "__version__",
]
