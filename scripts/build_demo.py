#!/usr/bin/env python3
"""Build the bundled SYNTHETIC demo cohort in nlrp3annot/demo/ (re-runnable, seeded).

    python scripts/build_demo.py [--seed 2026]

18 made-up NOMID patients modelled on the published summary figures of the anakinra study
(18 patients, 12 with a detectable NLRP3 mutation, anakinra 1-2 mg/kg/day; serum amyloid A
median 174 -> 8 mg/L and CRP 5.29 -> 0.34 mg/dL from baseline to month 3, diary scores
improved; withdrawal at month 3 in 11 patients, each flaring within days). NOT REAL DATA.

Genotypes use real CAPS variants from the bundled ClinVar table, placed on the TEST genome
(tests/data, not the real genome): 8 germline heterozygotes (two p.Arg260Trp carriers with
the c.780G allele on the same haplotype), 4 somatic mosaics (5-25% allele fraction; one
patient with blood and buccal samples), 5 patients with only common benign variants, and
one "mutation-negative by the old assay" patient whose deep sequencing shows p.Thr348Met at
4.5%. Writes one bgzipped, indexed VCF per sample, `response.xlsx` (wide: one row per
patient x visit, CRP in mg/dL as the study reported it, `<5` below the SAA limit) and
`samples.csv` (patient -> VCF sample, tissue, treatment, withdrawal and flare days).

Two patients also have deep amplicon reads (reads/*.cram, simulated on the TEST genome by
scripts/simulate_reads.py with a 0.5% error rate) for `nlrp3annot scan`: P16, negative by
the old assay and in its VCF, whose reads show p.Gly569Arg at 4.5% (found only by the scan),
and P17, whose reads show nothing, at a depth that makes it negative with a limit of
detection.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import pandas as pd
import pysam

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "nlrp3annot" / "demo"
FASTA = HERE / "tests" / "data" / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"

# GRCh38 positions of the variants used (ClinVar Canonical SPDI position + 1)
VARIANTS = {
    "R260W_778": (247424227, "C", "T"),  # c.778C>T; with c.780A>G in cis: p.Arg260Trp
    "c780": (247424229, "A", "G"),  # c.780A>G, rs4925543 (common, benign)
    "D303N": (247424356, "G", "A"),
    "L305P": (247424363, "T", "C"),
    "E311K": (247424380, "G", "A"),
    "T348M": (247424492, "C", "T"),
    "A439V": (247424765, "C", "T"),
    "G569R": (247425154, "G", "A"),
    "Y570C": (247425158, "A", "G"),
    "utr5": (247418240, "T", "G"),  # c.-561T>G, benign
}
# patient: list of (variant, genotype, allele fraction or None for a germline call), tissue
PATIENTS: dict[str, list] = {
    "P01": [("R260W_778", (0, 1), None), ("c780", (1, 1), None)],
    "P02": [("R260W_778", (0, 1), None), ("c780", (0, 1), None)],  # phased cis below
    "P03": [("D303N", (0, 1), None)],
    "P04": [("T348M", (0, 1), None), ("c780", (0, 1), None)],
    "P05": [("A439V", (0, 1), None)],
    "P06": [("E311K", (0, 1), None), ("utr5", (0, 1), None)],
    "P07": [("G569R", (0, 1), None)],
    "P08": [("L305P", (0, 1), None), ("c780", (1, 1), None)],
    "P09": [("D303N", (0, 1), 0.12)],
    "P10": [("Y570C", (0, 1), 0.08)],
    "P11": [("T348M", (0, 1), 0.25)],
    "P12": [("G569R", (0, 0), 0.18)],  # the caller said 0/0; the reads say mosaic
    "P13": [("c780", (1, 1), None)],
    "P14": [("c780", (0, 1), None), ("utr5", (0, 1), None)],
    "P15": [("c780", (1, 1), None)],
    "P16": [("utr5", (0, 1), None)],
    "P17": [("c780", (0, 1), None)],
    "P18": [("T348M", (0, 0), 0.045)],  # missed by the old assay
}
OLD_ASSAY_POSITIVE = {f"P{i:02d}" for i in range(1, 13)}
# deep amplicon reads (sample <patient>-amplicon): (variant, allele fraction), depth
AMPLICON = {"P16": ([("G569R", 0.045)], 700), "P17": ([], 600)}
WITHDRAWN = ["P01", "P02", "P03", "P04", "P05", "P09", "P10", "P13", "P14", "P15", "P18"]


def write_vcf(path: Path, sample: str, calls: list, rng: random.Random, depth: int) -> None:
    header = pysam.VariantHeader()
    header.add_line("##source=nlrp3annot demo: SYNTHETIC patient on the TEST genome")
    header.add_line("##contig=<ID=chr1,length=248956422>")
    header.add_line('##ALT=<ID=NON_REF,Description="Any possible alternative allele">')
    header.add_line('##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">')
    for line in (
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum depth in block">',
        '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">',
    ):
        header.add_line(line)
    header.add_sample(sample)
    records = []
    for name, gt, fraction in calls:
        pos, ref, alt = VARIANTS[name]
        dp = depth + rng.randint(-20, 20)
        if fraction is None:
            alt_reads = dp if gt == (1, 1) else round(dp * rng.uniform(0.42, 0.58))
        else:
            alt_reads = round(dp * fraction)
        records.append((pos, ref, alt, gt, (dp - alt_reads, alt_reads), dp))
    # gVCF-style reference blocks around the variants: depth at every other NLRP3 base
    starts = [247416100] + [r[0] + 1 for r in sorted(records)]
    ends = [r[0] - 1 for r in sorted(records)] + [247449200]
    with pysam.FastaFile(str(FASTA)) as fasta:
        blocks = [
            (s, e, fasta.fetch("chr1", s - 1, s).upper())
            for s, e in zip(starts, ends, strict=True)
            if e >= s
        ]
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        rows = [("var", r) for r in records] + [("block", b) for b in blocks]
        for kind, item in sorted(rows, key=lambda x: x[1][0]):
            if kind == "block":
                s, e, base = item
                rec = out.new_record(
                    contig="chr1", start=s - 1, stop=e, alleles=(base, "<NON_REF>")
                )
                rec.samples[sample]["GT"] = (0, 0)
                rec.samples[sample]["MIN_DP"] = depth - 25
            else:
                pos, ref, alt, gt, ad, dp = item
                rec = out.new_record(contig="chr1", start=pos - 1, alleles=(ref, alt, "<NON_REF>"))
                rec.samples[sample]["GT"] = gt
                rec.samples[sample]["AD"] = (*ad, 0)
                rec.samples[sample]["DP"] = dp
                rec.samples[sample]["GQ"] = 99
                if sample.startswith("P02"):  # read-backed phasing put both on haplotype 2
                    rec.samples[sample]["PS"] = 247424227
                    rec.samples[sample].phased = True
            rec.filter.add("PASS")
            out.write(rec)
    pysam.tabix_index(str(path), preset="vcf", force=True)


def clinical(rng: random.Random) -> tuple[pd.DataFrame, pd.DataFrame]:
    def lognormal(median: float, spread: float) -> float:
        return median * rng.lognormvariate(0, spread)

    rows, samples = [], []
    for patient in PATIENTS:
        withdrawn = patient in WITHDRAWN
        month3_day = 90 + rng.randint(-5, 8)
        visits = [("Baseline", 0), ("Month 3", month3_day)]
        flare_day = None
        if withdrawn:
            flare_day = month3_day + rng.randint(1, 5)  # "within days" of stopping anakinra
            visits.append(("Flare", flare_day))
        for visit, day in visits:
            if visit == "Baseline":
                saa, crp, diary, esr = (
                    lognormal(174, 0.5),
                    lognormal(5.29, 0.5),
                    rng.uniform(2.5, 5.5),
                    lognormal(48, 0.3),
                )
            elif visit == "Month 3":
                saa, crp, diary, esr = (
                    lognormal(8, 0.6),
                    lognormal(0.34, 0.6),
                    rng.uniform(0.1, 1.0),
                    lognormal(14, 0.3),
                )
            else:
                saa, crp, diary, esr = (
                    lognormal(95, 0.5),
                    lognormal(3.1, 0.5),
                    rng.uniform(2.0, 4.5),
                    lognormal(38, 0.3),
                )
            rows.append(
                {
                    "Patient ID": patient,
                    "Visit": visit,
                    "Study day": day,
                    "SAA (mg/L)": "<5" if saa < 5 else f"{saa:.0f}",
                    "CRP (mg/dL)": f"{crp:.2f}",
                    "Diary score": f"{diary:.2f}",
                    "ESR (mm/h)": f"{esr:.0f}",
                }
            )
        # (name, tissue, assay): the amplicon reads are of blood DNA; amplicon is the assay
        sampled = [("blood", "blood", "")]
        if patient == "P09":
            sampled.append(("buccal", "buccal", ""))
        if patient in AMPLICON:
            sampled.append(("amplicon", "blood", "amplicon"))
        for name, tissue, assay in sampled:
            samples.append(
                {
                    "patient_id": patient,
                    "sample_id": f"{patient}-{name}",
                    "tissue": tissue,
                    "assay": assay,
                    # the cohort's clinical diagnosis (NEJM 2006: NOMID), the patient's disease
                    "diagnosis": "NOMID",
                    "treatment": "anakinra",
                    "dose": "1-2 mg/kg/day",
                    "withdrawal_day": month3_day if withdrawn else "",
                    "flare_day": flare_day if withdrawn else "",
                    "old_assay": "positive" if patient in OLD_ASSAY_POSITIVE else "negative",
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(samples)


def write_reads(seed: int) -> None:
    """Each AMPLICON patient's reads over the MANE coding exons, as an indexed CRAM."""
    import sys

    sys.path.insert(0, str(HERE / "scripts"))
    from simulate_reads import Allele, simulate

    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.patients.coverage import coding_targets

    t = mane_transcript("GRCh38")
    targets = coding_targets(t.exons, t.cds_start, t.cds_end)
    (OUT / "reads").mkdir()
    for k, (patient, (alleles, depth)) in enumerate(sorted(AMPLICON.items())):
        spec = tuple(Allele(VARIANTS[v][0], VARIANTS[v][2], f) for v, f in alleles)
        cram = OUT / "reads" / f"{patient}-amplicon.cram"
        simulate(cram, targets, depth, spec, seed=seed + k, sample=f"{patient}-amplicon",
                 fasta_path=FASTA, read_length=150)  # fmt: skip
        for leftover in (cram.with_suffix(".bam"), Path(f"{cram.with_suffix('.bam')}.bai")):
            leftover.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "vcf").mkdir(parents=True)
    response, samples = clinical(rng)
    for row in samples.itertuples():
        if row.assay == "amplicon":
            continue  # reads, written below
        calls = PATIENTS[row.patient_id]
        if row.tissue == "buccal":  # the buccal sample of P09 carries less of the clone
            calls = [(n, gt, 0.05) for n, gt, _ in calls]
        depth = 900 if row.patient_id == "P18" else 180
        write_vcf(OUT / "vcf" / f"{row.sample_id}.vcf.gz", row.sample_id, calls, rng, depth)
    with pd.ExcelWriter(OUT / "response.xlsx") as writer:
        response.to_excel(writer, sheet_name="response", index=False)
    samples.to_csv(OUT / "samples.csv", index=False)
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(f"{FASTA}{suffix}", OUT / f"{FASTA.name}{suffix}")
    write_reads(args.seed)
    (OUT / "README.txt").write_text(
        "SYNTHETIC DEMO DATA - NOT REAL PATIENTS, NOT THE REAL GENOME.\n"
        "Built by scripts/build_demo.py; see its docstring for what it models.\n"
        "vcf/: one VCF per sample on the nlrp3annot TEST genome (TEST_LOCUS_*.fa.gz).\n"
        "response.xlsx: made-up anakinra response, one row per patient x visit.\n"
        "samples.csv: patient -> VCF sample, treatment, withdrawal and flare days.\n"
        "reads/: deep amplicon reads (CRAM, simulated) of P16 and P17 for 'nlrp3annot scan'.\n"
    )
    vcfs = len(list((OUT / "vcf").glob("*.vcf.gz")))
    print(f"wrote {OUT}: {vcfs} VCFs, {len(AMPLICON)} CRAMs, {len(response)} response rows")


if __name__ == "__main__":
    main()
