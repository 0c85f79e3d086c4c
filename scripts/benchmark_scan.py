#!/usr/bin/env python3
"""How well the scan finds mosaics and refuses artefacts, beside freebayes and bcftools call
on the same reads: ART batches (scripts/scan_batches.py) at every allele fraction of the
deep (~2,800x capture) and locus (~140x) designs, and a batch of 12 oxidised reference
samples. Prints, per batch: true alleles found (SNVs and deletions), false calls in the
pure-reference samples, false calls at ClinVar pathogenic alleles, pure-reference samples
that did not come out ``negative``/``not_assessable``, whether every known SNV at or above
its stated limit of detection was found, and run times; then a single deep mosaic scanned
alone with a panel of normals beside its batch. The amplicon design (a directional assay at
~2,500x, 14 samples: mosaics at 1, 2, 5, 10% and 6 references, one oxidised, one deaminated)
is scanned with and without ``--primers`` (simulate_art.primers_bed), with its rows per
fraction, the references' statuses and stated limits at the known pathogenic alleles, and
the scan's seconds beside ``samtools mpileup`` and ``bcftools mpileup`` of the same BAMs.
The UMI design (a UMI capture kit at ~4,000 molecules per coding position, every molecule
a family of 1-6 read pairs with an RX tag, not duplicate-marked, early PCR errors; 12
samples: mosaics at 0.3, 0.5 and 1%, two of them also carrying the 0.3% mosaic's allele at
0.15%, and 6 references, one with 3 stray molecules of a known allele) is scanned with
``--umi-tag RX``, with no UMI option (the scan finds RX and uses it) and with ``--no-umi``
(reads counted as fragments, as before), with the same kind of rows
and the 0.15% alleles called; --quick keeps 6 of its samples (one mosaic per fraction, 3
references with the stray one).

    python scripts/benchmark_scan.py --workdir /tmp/scanbench [--quick] [--no-freebayes]
        [--designs deep,locus,oxidative,amplicon,umi]   # capture = deep,locus,oxidative

Batches are built once into --workdir (ART + bwa: ~5 min a deep batch of 20, ~12 min
the UMI batch of 12) and reused.
freebayes: ``--pooled-continuous -F 0.005 -C 3`` per sample ("raw"), and "filtered" as a
mosaic pipeline would (ALT on both strands, >= 5 reads, VAF >= 1%); bcftools: ``mpileup
-a AD,ADF,ADR | call -mv`` on the batch.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scan_batches import (
    AMPLICON_LEVELS,
    UMI_LOW_LEVEL,
    UMI_QUICK,
    Sample,
    Score,
    amplicon_batch,
    batch,
    build,
    freebayes_calls,
    oxidative_batch,
    plain_fasta,
    read_vcf_calls,
    scan_calls,
    score,
    umi_batch,
    write_targets,
)
from simulate_art import FASTA, Locus, primers_bed

LEVELS = {"deep": [0.01, 0.02, 0.03, 0.05, 0.10, 0.20], "locus": [0.03, 0.05, 0.10, 0.20]}
QUICK = {"deep": [0.03], "locus": [0.10]}
DESIGN_NAMES = ["deep", "locus", "oxidative", "amplicon", "umi"]
ALIASES = {"capture": ["deep", "locus", "oxidative"], "all": DESIGN_NAMES}
AMPLICON_QUICK = {"levels": [0.05], "references": 3}  # 2 mosaics, oxidised, deaminated, clean


def ours(bams: list[Path], out: Path, extra: list[str] = ()) -> float:
    """``nlrp3annot scan`` then ``annotate --patients`` of its VCFs; the scan's seconds."""
    cmd = [sys.executable, "-m", "nlrp3annot"]
    start = time.perf_counter()
    subprocess.run([*cmd, "scan", *map(str, bams), "--fasta", str(FASTA), "-o", str(out), "-q",
                    *extra], check=True)  # fmt: skip
    seconds = time.perf_counter() - start
    vcfs = sorted(str(p) for p in out.glob("*.scan.vcf.gz"))
    subprocess.run([*cmd, "annotate", *vcfs, "--fasta", str(FASTA), "-o", str(out / "calls.tsv"),
                    "--patients", str(out / "patients.tsv"), "-q"], check=True)  # fmt: skip
    return seconds


def bcftools_calls(bams: list[Path], targets: Path, out: Path) -> tuple[dict, float]:
    start = time.perf_counter()
    mpileup = subprocess.Popen(
        ["bcftools", "mpileup", "-f", str(FASTA), "-R", str(targets), "-a", "AD,ADF,ADR",
         "-d", "100000", "-q", "20", "-Q", "20", "-Ou", *map(str, bams)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    vcf = out / "bcftools.vcf"
    with vcf.open("w") as handle:
        subprocess.run(["bcftools", "call", "-mv"], stdin=mpileup.stdout, stdout=handle,
                       check=True)  # fmt: skip
    mpileup.wait()
    seconds = time.perf_counter() - start
    normed = out / "bcftools.norm.vcf"
    subprocess.run(["bcftools", "norm", "-m", "-any", "-f", str(FASTA), "-o", str(normed),
                    str(vcf)], check=True, capture_output=True)  # fmt: skip
    import pysam

    calls: dict[str, set] = {}
    with pysam.VariantFile(str(normed)) as handle:
        for rec in handle:
            for name, call in rec.samples.items():
                if any(a for a in (call.get("GT") or ()) if a):
                    calls.setdefault(name, set()).add((rec.pos, rec.ref, rec.alts[0]))
    return calls, seconds


def samtools_mpileup_seconds(bams: list[Path], targets: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["samtools", "mpileup", "-f", str(FASTA), "-l", str(targets), "-q", "20", "-Q", "20",
         "-d", "100000", "-o", "/dev/null", *map(str, bams)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def mpileup_seconds(bams: list[Path], targets: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["bcftools", "mpileup", "-f", str(FASTA), "-R", str(targets), "-a", "AD,ADF,ADR",
         "-d", "100000", "-q", "20", "-Q", "20", "-Ou", "-o", "/dev/null", *map(str, bams)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def limits_hold(samples: list[Sample], out: Path) -> dict[str, tuple[int, int]]:
    """Per class, (true alleles at or above the stated limit that were called, all such
    alleles): known SNVs against their own limit in scan.tsv; deletions against the known
    allele's limit, or else the sample's indel limit at the hardest coding position
    (``LOD_INDELS_MAX`` of its VCF), the limit that covers every position."""
    rows = {}
    with (out / "scan.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            rows[(row["sample"], int(row["pos"]), row["ref"], row["alt"])] = row
    held = {"known SNVs": [0, 0], "deletions": [0, 0]}
    for s in samples:
        for a in s.alleles:
            if a.fraction >= 0.5:
                continue
            row = rows.get((s.name, a.pos, a.ref, a.alt))
            kind = "known SNVs" if len(a.ref) == len(a.alt) == 1 else "deletions"
            if row is not None and row["limit_of_detection"]:
                limit = float(row["limit_of_detection"])
            elif kind == "deletions":
                limit = _header_limit(out / f"{s.name}.scan.vcf.gz", "indels_worst")
            else:
                continue
            if limit is not None and a.fraction >= limit:
                held[kind][1] += 1
                held[kind][0] += row is not None and row["verdict"] == "called"
    return {kind: (hit, total) for kind, (hit, total) in held.items()}


def _header_limit(vcf: Path, field: str) -> float | None:
    import pysam

    from nlrp3annot.values import ScanLimits

    with pysam.VariantFile(str(vcf)) as handle:
        for record in handle.header.records:
            if record.key == "NLRP3_SCAN":
                return getattr(ScanLimits.from_header(dict(record.items())), field)
    return None


def known_alleles() -> set:
    from nlrp3annot.genome.sequence import fasta_build
    from nlrp3annot.reads.known import known_alleles as known

    k = known("GRCh38", fasta_build(FASTA))
    return set(k.snvs) | set(k.indels)


def row(label: str, s: Score, seconds: float | None, note: str = "") -> str:
    deletions = s.truths - s.truths_snv
    found = (
        f"{s.found}/{s.truths} (SNVs {s.found_snv}/{s.truths_snv}, deletions "
        f"{s.found - s.found_snv}/{deletions})"
        if s.truths
        else "-"
    )
    time_text = f"{seconds:.0f}" if seconds is not None else ""
    return (
        f"| {label} | {found} | {s.false_calls_reference} in {s.references} | "
        f"{s.false_at_known} | {time_text} | {note} |"
    )


def parse_designs(text: str) -> list[str]:
    out: list[str] = []
    for word in text.split(","):
        word = word.strip()
        names = ALIASES.get(word, [word])
        if any(n not in DESIGN_NAMES for n in names):
            raise SystemExit(
                f"--designs: unknown design {word!r} (choose from "
                f"{', '.join(DESIGN_NAMES + list(ALIASES))})"
            )
        out += [n for n in names if n not in out]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument(
        "--quick", action="store_true",
        help="one level per design (amplicon: 5%% only, 2 mosaics and 3 references; umi: "
        "one mosaic per fraction and 3 references)",
    )  # fmt: skip
    parser.add_argument("--no-freebayes", action="store_true")
    parser.add_argument(
        "--scan-only", action="store_true",
        help="capture batches: our scan's rows only (no bcftools call, no mpileup timing)",
    )  # fmt: skip
    parser.add_argument(
        "--designs", type=parse_designs, default=DESIGN_NAMES,
        help="comma-separated: deep, locus, oxidative, amplicon, umi; capture = deep,locus,"
        "oxidative; all (default). The single-mosaic panel check runs with deep",
    )  # fmt: skip
    args = parser.parse_args()
    work = args.workdir
    locus = Locus(work / "locus")
    targets = write_targets(work / "targets.bed")
    fasta_plain = None if args.no_freebayes else plain_fasta(work)
    known = known_alleles()
    levels = QUICK if args.quick else LEVELS
    batches = [(d, lv) for d in ("deep", "locus") if d in args.designs for lv in levels[d]]
    if "oxidative" in args.designs:
        batches.append(("oxidative", None))
    if batches:
        print("| batch | caller | true alleles found | false calls in pure references | "
              "false calls at ClinVar pathogenic alleles | seconds | notes |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
    for design, level in batches:
        capture_batch(design, level, work, locus, targets, fasta_plain, known, args.scan_only)
    if "amplicon" in args.designs:
        amplicon_design(work, locus, targets, fasta_plain, known, args.quick)
    if "umi" in args.designs:
        umi_design(work, locus, targets, fasta_plain, known, args.quick)
    if "deep" in args.designs:
        panel_check(work, locus, known)


def capture_batch(design, level, work, locus, targets, fasta_plain, known,
                  scan_only: bool = False) -> None:  # fmt: skip
    """The rows of one capture (or ~140x locus, or oxidised) batch."""
    if design == "oxidative":
        samples, lib, name = oxidative_batch(), "deep", "oxidative"
    else:
        samples, lib, name = batch(design, level, locus), design, f"{design}_{level:g}"
    folder = work / name
    bams = build(samples, lib, folder, locus)
    out = folder / "scan"
    shutil.rmtree(out, ignore_errors=True)
    seconds = ours(bams, out)
    calls, patients = scan_calls(out)
    mine = score(samples, calls, known)
    statuses = sorted(
        f"{s.name}:{patients[s.name]['status']}" for s in samples
        if s.pure_reference and patients[s.name]["status"] not in ("negative",
                                                                     "not_assessable")
    )  # fmt: skip
    held = "; ".join(f"{kind} {hit}/{total}" for kind, (hit, total)
                     in limits_hold(samples, out).items())  # fmt: skip
    label = f"{name} ({len(samples)})"
    limits = ", ".join(
        f"{_percent(_header_limit(out / f'{s.name}.scan.vcf.gz', 'known'))}"
        for s in samples if s.pure_reference
    )  # fmt: skip
    note = (
        f"at/above the stated limit, found: {held}; reference statuses not "
        f"negative/not_assessable: {', '.join(statuses) or 'none'}; references' stated "
        f"limits at the known pathogenic alleles: {limits}"
    )
    if not scan_only:
        anchor = mpileup_seconds(bams, targets)
        note += f"; mpileup {anchor:.0f} s (ratio {seconds / anchor:.2f})"
    if mine.missed:
        note += "; missed " + ", ".join(mine.missed)
    print(row(f"{label} | nlrp3annot scan", mine, seconds, note), flush=True)
    if scan_only:
        return
    if fasta_plain is not None:
        raw, filtered, fb_seconds = freebayes_all(bams, samples, fasta_plain, targets, folder)
        print(row(f"{label} | freebayes raw", score(samples, raw, known), fb_seconds),
              flush=True)  # fmt: skip
        print(row(f"{label} | freebayes filtered", score(samples, filtered, known), None),
              flush=True)  # fmt: skip
    bcf, bcf_seconds = bcftools_calls(bams, targets, folder)
    print(row(f"{label} | bcftools call", score(samples, bcf, known), bcf_seconds),
          flush=True)  # fmt: skip


def freebayes_all(bams, samples, fasta_plain, targets, folder) -> tuple[dict, dict, float]:
    """freebayes per sample: calls raw and filtered, and the seconds of all."""
    start = time.perf_counter()
    raw, filtered = {}, {}
    for bam, s in zip(bams, samples, strict=True):
        vcf = freebayes_calls(bam, fasta_plain, targets, folder)
        raw[s.name] = read_vcf_calls(vcf)
        filtered[s.name] = read_vcf_calls(vcf, min_reads=5, min_vaf=0.01, both_strands=True)
    return raw, filtered, time.perf_counter() - start


# -- the amplicon design ------------------------------------------------------------------


def amplicon_design(work, locus, targets, fasta_plain, known, quick: bool) -> None:
    """The amplicon batch: scan without and with ``--primers``, freebayes, bcftools call;
    one row each, true alleles found per fraction."""
    kept = AMPLICON_QUICK if quick else {"levels": AMPLICON_LEVELS, "references": 6}
    samples = amplicon_batch(locus, **kept)
    folder = work / "amplicon"
    bams = build(samples, "amplicon", folder, locus)
    primers = primers_bed(folder / "primers.bed")
    samtools_s = samtools_mpileup_seconds(bams, targets)
    bcftools_s = mpileup_seconds(bams, targets)
    label = f"amplicon ~2,500x ({len(samples)})"
    print(f"\nAmplicon design, {len(samples)} samples: `samtools mpileup` {samtools_s:.1f} s, "
          f"`bcftools mpileup` {bcftools_s:.1f} s of the same BAMs\n")  # fmt: skip
    print("| batch | caller | true alleles found per fraction | false calls in pure "
          "references | false calls at ClinVar pathogenic alleles | seconds (/ samtools "
          "mpileup) | notes |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for caller, extra, name in (
        ("nlrp3annot scan", [], "scan"),
        ("nlrp3annot scan --primers", ["--primers", str(primers)], "scan_primers"),
    ):
        out, seconds, calls, mine, held, references = scan_and_score(
            bams, folder / name, extra, samples, known, lambda s: f"{s.name} ({s.artefact})"
        )
        held = "; ".join(f"{kind} {hit}/{total}" for kind, (hit, total) in held.items())
        note = (
            f"references (status, stated limit at the known pathogenic alleles): "
            f"{references}; at/above the stated limit, found: {held}"
        )
        if mine.missed:
            note += "; missed " + ", ".join(mine.missed)
        timing = f"{seconds:.1f} / {samtools_s:.1f} = {seconds / samtools_s:.2f}"
        print(amplicon_row(f"{label} | {caller}", samples, calls, mine, timing, note),
              flush=True)  # fmt: skip
    if fasta_plain is not None:
        raw, filtered, fb_seconds = freebayes_all(bams, samples, fasta_plain, targets, folder)
        for caller, calls in (("freebayes raw", raw), ("freebayes filtered", filtered)):
            mine = score(samples, calls, known)
            note = "missed " + ", ".join(mine.missed) if mine.missed else ""
            timing = f"{fb_seconds:.0f}" if caller == "freebayes raw" else ""
            print(amplicon_row(f"{label} | {caller}", samples, calls, mine, timing, note),
                  flush=True)  # fmt: skip
    bcf, bcf_seconds = bcftools_calls(bams, targets, folder)
    mine = score(samples, bcf, known)
    print(amplicon_row(f"{label} | bcftools call", samples, bcf, mine, f"{bcf_seconds:.1f}", ""),
          flush=True)  # fmt: skip
    amplicon_alone(work, samples, bams, label, known)


def amplicon_alone(work: Path, samples, bams, label: str, known: set) -> None:
    """Each mosaic scanned alone, with a panel of normals of the same assay (the batch's
    clean references): what a lab testing one patient at a time gets."""
    normals = [b for b, s in zip(bams, samples, strict=True)
               if s.pure_reference and s.artefact == "clean"]  # fmt: skip
    if len(normals) < 3:
        return
    panel = work / "amplicon" / "panel.npz"
    subprocess.run([sys.executable, "-m", "nlrp3annot", "scan", "--make-panel",
                    *map(str, normals), "--fasta", str(FASTA), "-o", str(panel), "-q"],
                   check=True)  # fmt: skip
    calls: dict = {}
    mosaics = [(b, s) for b, s in zip(bams, samples, strict=True) if s.alleles]
    for bam, s in mosaics:
        out = work / "amplicon" / "alone" / s.name
        shutil.rmtree(out, ignore_errors=True)
        ours([bam], out, ["--panel", str(panel)])
        calls.update(scan_calls(out)[0])
    subset = [s for _, s in mosaics]
    mine = score(subset, calls, known)
    print(amplicon_row(f"{label} | each mosaic alone + panel of {len(normals)} clean normals",
                       subset, calls, mine, "", ""), flush=True)  # fmt: skip


def scan_and_score(bams, out: Path, extra, samples, known: set, label_of):
    """Our scan of a batch into ``out``: (out, seconds, calls, score, the limits held per
    kind, the references' statuses and stated limits at the known alleles, each named by
    ``label_of``)."""
    shutil.rmtree(out, ignore_errors=True)
    seconds = ours(bams, out, extra)
    calls, patients = scan_calls(out)
    references = "; ".join(
        f"{label_of(s)} {patients[s.name]['status']}, known "
        f"{_percent(_header_limit(out / f'{s.name}.scan.vcf.gz', 'known'))}"
        for s in samples if s.pure_reference
    )  # fmt: skip
    held = limits_hold(samples, out)
    return out, seconds, calls, score(samples, calls, known), held, references


def amplicon_row(
    label, samples, calls, total: Score, seconds: str, note: str, references: str = ""
) -> str:
    """A row whose found cell is per fraction: "1%: 2/3 (SNVs 2/2)" and so on; the
    references' cell ``references`` if given, else their false calls in all."""
    cells = []
    for level in sorted({a.fraction for s in samples for a in s.alleles}):
        subset = [s for s in samples if s.alleles and s.alleles[0].fraction == level]
        s = score(subset, calls, set())
        cells.append(f"{percent(level)}: {s.found}/{s.truths} (SNVs {s.found_snv}/{s.truths_snv})")
    references = references or f"{total.false_calls_reference} in {total.references}"
    return (
        f"| {label} | {'; '.join(cells)} | {references} | {total.false_at_known} | {seconds} "
        f"| {note} |"
    )


def percent(fraction: float) -> str:
    """0.003 -> "0.3%", 0.0015 -> "0.15%", 0.1 -> "10%": as many digits as the fraction has."""
    return f"{round(fraction * 100, 6):g}%"


def false_calls_per_reference(samples: list[Sample], calls: dict[str, set]) -> str:
    """The false-calls cell of a batch: "0 in 6", or "2 in 6 (umi_R1 2)" naming each pure
    reference with a call (every call in a pure reference is false)."""
    references = [s for s in samples if s.pure_reference]
    counts = {s.name: len(calls.get(s.name, ())) for s in references}
    named = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    return f"{sum(counts.values())} in {len(references)}" + (f" ({named})" if named else "")


def low_level_called(samples: list[Sample], calls: dict[str, set]) -> tuple[int, int]:
    """(low-level alleles called, all low-level alleles): other samples' alleles simulated
    below any limit, which a caller need not find (and does no wrong finding)."""
    alleles = [(s.name, (a.pos, a.ref, a.alt)) for s in samples for a in s.low_level]
    return sum(key in calls.get(name, ()) for name, key in alleles), len(alleles)


# -- the UMI design -----------------------------------------------------------------------


def umi_design(work, locus, targets, fasta_plain, known, quick: bool) -> None:
    """The UMI batch: scan with ``--umi-tag RX``, with no option and with ``--no-umi``, then
    freebayes raw and filtered; one row each, true alleles found per fraction, false calls
    per reference sample, the references' status and stated limit at the known alleles."""
    samples = umi_batch(**(UMI_QUICK if quick else {}))
    folder = work / "umi"
    missing = sum(not (folder / f"{s.name}.bam.bai").exists() for s in samples)
    start = time.perf_counter()
    bams = build(samples, "umi", folder, locus)
    built = time.perf_counter() - start
    samtools_s = samtools_mpileup_seconds(bams, targets)
    label = f"UMI ~4,000 molecules ({len(samples)})"
    made = f"built {missing} BAMs in {built / 60:.1f} min" if missing else "BAMs reused"
    print(f"\nUMI design, {len(samples)} samples ({made}): `samtools mpileup` "
          f"{samtools_s:.1f} s of the same BAMs\n")  # fmt: skip
    print("| batch | caller | true alleles found per fraction | false calls per pure "
          "reference | false calls at ClinVar pathogenic alleles | seconds (/ samtools "
          "mpileup) | notes |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for caller, extra, name in (
        ("nlrp3annot scan --umi-tag RX", ["--umi-tag", "RX"], "scan_umi"),
        ("nlrp3annot scan (no UMI option: RX found and used)", [], "scan"),
        ("nlrp3annot scan --no-umi (reads counted)", ["--no-umi"], "scan_reads"),
    ):
        out, seconds, calls, mine, held, references = scan_and_score(
            bams, folder / name, extra, samples, known, lambda s: f"{s.name}{_stray_text(s)}"
        )
        held = "; ".join(f"{kind} {hit}/{total}" for kind, (hit, total) in held.items()
                         if total)  # fmt: skip
        low, lows = low_level_called(samples, calls)
        note = (
            f"references (status, stated limit at the known pathogenic alleles): "
            f"{references}; at/above the stated limit, found: {held or 'none there'}; "
            f"other samples' alleles at {percent(UMI_LOW_LEVEL)} called: {low}/{lows}"
        )
        if mine.missed:  # with its evidence: why was it not called?
            note += "; missed " + ", ".join(missed_evidence(samples, calls, out))
        timing = f"{seconds:.1f} / {samtools_s:.1f} = {seconds / samtools_s:.2f}"
        cell = false_calls_per_reference(samples, calls)
        print(amplicon_row(f"{label} | {caller}", samples, calls, mine, timing, note, cell),
              flush=True)  # fmt: skip
    if fasta_plain is not None:
        raw, filtered, fb_seconds = freebayes_all(bams, samples, fasta_plain, targets, folder)
        for caller, calls in (("freebayes raw", raw), ("freebayes filtered", filtered)):
            mine = score(samples, calls, known)
            low, lows = low_level_called(samples, calls)
            note = f"other samples' alleles at {percent(UMI_LOW_LEVEL)} called: {low}/{lows}"
            note += "; missed " + ", ".join(mine.missed) if mine.missed else ""
            timing = f"{fb_seconds:.0f}" if caller == "freebayes raw" else ""
            cell = false_calls_per_reference(samples, calls)
            print(amplicon_row(f"{label} | {caller}", samples, calls, mine, timing, note, cell),
                  flush=True)  # fmt: skip


def missed_evidence(samples: list[Sample], calls: dict[str, set], out: Path) -> list[str]:
    """Each true allele not called, with its ALT molecules of the depth, the background
    rate and p the scan gave it (scan.tsv): "umi003_M1:247418829G>T (16/3739, background
    0.073%, p 0.015)"."""
    rows = {}
    with (out / "scan.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            rows[(row["sample"], int(row["pos"]), row["ref"], row["alt"])] = row
    texts = []
    for s in samples:
        for a in s.alleles:
            if a.fraction >= 0.5 or (a.pos, a.ref, a.alt) in calls.get(s.name, ()):
                continue
            text = f"{s.name}:{a.pos}{a.ref}>{a.alt}"
            row = rows.get((s.name, a.pos, a.ref, a.alt))
            if row is not None:
                text += (
                    f" ({row['alt_reads']}/{row['depth']}, background "
                    f"{float(row['background']):.3%}, p {float(row['p']):.2g})"
                )
            texts.append(text)
    return texts


def _stray_text(s: Sample) -> str:
    return "".join(f" ({n} stray molecules of {a.pos}{a.ref}>{a.alt})" for a, n in s.stray)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def panel_check(work: Path, locus: Locus, known: set) -> None:
    """Each deep mosaic of the 3% batch scanned alone with a panel of normals (the
    oxidised batch and the 3% batch's own references): the calls its batch gave it?"""
    samples = batch("deep", 0.03, locus)
    folder = work / "deep_0.03"
    bams = build(samples, "deep", folder, locus)
    normals = build(oxidative_batch(), "deep", work / "oxidative", locus)
    normals += [b for b, s in zip(bams, samples, strict=True) if s.pure_reference]
    panel = work / "panel.npz"
    subprocess.run([sys.executable, "-m", "nlrp3annot", "scan", "--make-panel",
                    *map(str, normals), "--fasta", str(FASTA), "-o", str(panel), "-q"],
                   check=True)  # fmt: skip
    in_batch, _ = scan_calls(folder / "scan")
    same = 0
    mosaics = [(b, s) for b, s in zip(bams, samples, strict=True) if s.alleles and
               all(a.fraction < 0.5 for a in s.alleles)]  # fmt: skip
    for bam, s in mosaics:
        out = work / "alone" / s.name
        shutil.rmtree(out, ignore_errors=True)
        ours([bam], out, ["--panel", str(panel)])
        alone, _ = scan_calls(out)
        same += alone.get(s.name, set()) == in_batch.get(s.name, set())
    print(f"\nSingle deep mosaic + panel of {len(normals)} normals: the calls of its batch "
          f"in {same}/{len(mosaics)} samples")  # fmt: skip


if __name__ == "__main__":
    main()
