"""Write real multi-sample VCFs with pysam (htslib), the way lab callers shape them."""

from __future__ import annotations

from pathlib import Path

import pysam

FORMATS = {
    "GT": ("1", "String", "Genotype"),
    "AD": ("R", "Integer", "Allelic depths for the ref and alt alleles"),
    "DP": ("1", "Integer", "Approximate read depth"),
    "GQ": ("1", "Integer", "Genotype Quality"),
    "PL": ("G", "Integer", "Normalized, Phred-scaled likelihoods"),
    "AF": ("A", "Float", "Allele fractions of alternate alleles in the tumor"),
    "PS": ("1", "Integer", "Phase set"),
    "MIN_DP": ("1", "Integer", "Minimum DP observed within the gVCF block"),
}


def write(
    path: Path,
    samples: list[str],
    records: list[dict],
    build_length: int = 248_956_422,
    chrom: str = "chr1",
) -> Path:
    """``records``: dicts with pos, ref, alts, optional filter, stop (gVCF END), and
    ``calls``: {sample: {"GT": (0, 1), "phased": bool, "AD": (..), ...}}."""
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID={chrom},length={build_length}>")
    header.add_line('##FILTER=<ID=LowQual,Description="Low quality">')
    header.add_line('##ALT=<ID=NON_REF,Description="Any possible alternative allele">')
    header.add_line('##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">')
    for key, (number, kind, text) in FORMATS.items():
        header.add_line(f'##FORMAT=<ID={key},Number={number},Type={kind},Description="{text}">')
    for sample in samples:
        header.add_sample(sample)
    with pysam.VariantFile(str(path), "w", header=header) as out:
        for spec in records:
            rec = out.new_record(
                contig=chrom, start=spec["pos"] - 1, alleles=(spec["ref"], *spec["alts"])
            )
            if "stop" in spec:
                rec.stop = spec["stop"]
            rec.filter.add(spec.get("filter", "PASS"))
            for sample, call in spec.get("calls", {}).items():
                for key, value in call.items():
                    if key == "phased":
                        continue
                    if key == "GT":
                        rec.samples[sample]["GT"] = value
                    else:
                        rec.samples[sample][key] = value
                if call.get("phased"):
                    rec.samples[sample].phased = True
            out.write(rec)
    return path
