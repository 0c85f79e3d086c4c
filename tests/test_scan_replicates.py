"""Replicate libraries (two independent PCRs of one sample: same SM, different LB) scanned
as one sample: an allele in both is called with the pooled counts, a PCR "jackpot" in one
library only is not (though that library alone calls it), the set's limit of detection is
no lower than either library's own, and two files of one library stay refused. Reads
simulated on the TEST locus (scripts/simulate_reads.py); expected counts are read back from
the BAMs with pysam, independently of the scan."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import TEST_FASTA

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from simulate_reads import C907, C1043, EXON4, Allele, simulate  # noqa: E402

from nlrp3annot.reads.scan import scan_alignments  # noqa: E402

FASTA = TEST_FASTA["GRCh38"]


def library(tmp: Path, sample: str, lb: str | None, *alleles: Allele, seed: int) -> Path:
    """Simulated reads of ``sample`` rewritten with an @RG of SM ``sample``, LB ``lb``."""
    source = simulate(tmp / f"raw_{sample}_{lb}_{seed}.bam", [EXON4], 500, tuple(alleles),
                      seed=seed, sample=sample, fasta_path=FASTA, read_length=150)  # fmt: skip
    return relabel(source, tmp / f"{sample}_{lb}_{seed}.bam", sample, lb)


def relabel(source: Path, path: Path, sample: str, lb: str | None) -> Path:
    """The reads of ``source`` (read group rg1) in a BAM whose @RG says SM and LB."""
    import pysam

    with pysam.AlignmentFile(str(source)) as src:
        header = src.header.to_dict()
        header["RG"] = [{"ID": "rg1", "SM": sample, **({"LB": lb} if lb else {})}]
        with pysam.AlignmentFile(str(path), "wb", header=header) as out:
            for read in src:
                out.write(read)
    pysam.index(str(path))
    return path


def bam_counts(paths: list[Path], pos: int, alt: str) -> tuple[int, int]:
    """(ALT reads, reads) with a base at 1-based ``pos`` over the files, read with pysam."""
    import pysam

    alt_reads = depth = 0
    for path in paths:
        with pysam.AlignmentFile(str(path)) as bam:
            for column in bam.pileup("chr1", pos - 1, pos, truncate=True, min_base_quality=20,
                                     ignore_orphans=False, stepper="nofilter"):  # fmt: skip
                for read in column.pileups:
                    if read.is_del or read.is_refskip:
                        continue
                    depth += 1
                    alt_reads += read.alignment.query_sequence[read.query_position] == alt
    return alt_reads, depth


def found(result, sample: str, pos: int, alt: str):
    (scan,) = [s for s in result.samples if s.sample == sample]
    hits = [c for c in scan.candidates if (c.pos, c.alt) == (pos, alt)]
    return scan, (hits[0] if hits else None)


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("replicates")
    made = {
        "P_L1": library(tmp, "P", "L1", Allele(C907, "A", 0.10), seed=1),
        "P_L2": library(tmp, "P", "L2", Allele(C907, "A", 0.10), seed=2),
        "J_L1": library(tmp, "J", "L1", Allele(C1043, "T", 0.25), seed=3),
        "J_L2": library(tmp, "J", "L2", seed=4),
    }
    negatives = [library(tmp, f"N{i}", "L1", seed=10 + i) for i in range(3)]
    return made, negatives


@pytest.fixture(scope="module")
def together(libraries):
    made, negatives = libraries
    return scan_alignments([*made.values(), *negatives], FASTA)


def test_an_allele_in_both_libraries_is_called_with_the_pooled_counts(libraries, together):
    made, _ = libraries
    scan, c = found(together, "P", C907, "A")
    assert scan.libraries == ("L1", "L2")
    assert c is not None and c.verdict == "called", c
    assert c.called_in == ("L1", "L2")
    assert (c.alt_reads, c.depth) == bam_counts([made["P_L1"], made["P_L2"]], C907, "A")
    one, _ = bam_counts([made["P_L1"]], C907, "A")
    assert 0 < one < c.alt_reads  # pooled: more than the first library's
    low, high = c.vaf_ci
    assert low <= 0.10 <= high
    assert [(x.pos, x.alt) for x in scan.calls] == [(C907, "A")]


def test_a_jackpot_in_one_library_is_not_called_but_that_library_alone_calls_it(
    libraries, together
):
    made, negatives = libraries
    _, c = found(together, "J", C1043, "T")
    assert c is not None and c.verdict != "called", c
    assert c.called_in == ("L1",)
    assert (c.alt_reads, c.depth) == bam_counts([made["J_L1"], made["J_L2"]], C1043, "T")
    assert bam_counts([made["J_L2"]], C1043, "T")[0] == 0
    assert not [x for s in together.samples for x in s.calls if s.sample != "P"]
    alone = scan_alignments([made["J_L1"], *negatives], FASTA)
    _, single = found(alone, "J", C1043, "T")
    assert single is not None and single.verdict == "called", single


def test_the_limit_of_the_pair_is_no_lower_than_either_librarys_own(
    libraries, together, tmp_path: Path
):
    """Each library's own limit from a scan of the same files (the same backgrounds: each
    file's is the other files'), with the other library named as another sample."""
    made, negatives = libraries
    (pair,) = [s for s in together.samples if s.sample == "P"]
    for name, other in (("P_L1", "P_L2"), ("P_L2", "P_L1")):
        apart = relabel(made[other], tmp_path / f"Q_{other}.bam", "Q", "L9")
        files = [made[name], apart, made["J_L1"], made["J_L2"], *negatives]
        alone = scan_alignments(files, FASTA)
        (own,) = [s for s in alone.samples if s.sample == "P"]
        assert own.libraries == ()
        for field in ("known_snv", "other_snvs", "other_snvs_worst", "indels", "indels_worst"):
            assert getattr(pair.limits, field) >= getattr(own.limits, field), field
        assert pair.lod > own.lod  # each library at the higher power: strictly above


@pytest.mark.parametrize("libraries_of", [("L1", "L1"), (None, None), ("L1", None)])
def test_one_sample_in_two_files_of_one_library_is_refused_in_one_line(
    tmp_path: Path, capsys, libraries_of
):
    from nlrp3annot.cli import main

    paths = [str(library(tmp_path, "S", lb, seed=20 + n)) for n, lb in enumerate(libraries_of)]
    capsys.readouterr()
    code = main(["scan", *paths, "--fasta", str(FASTA), "-o", str(tmp_path / "scan")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert Path(paths[1]).name in err[0] and "'S'" in err[0] and Path(paths[0]).name in err[0]
    assert ("'L1'" in err[0]) == (libraries_of == ("L1", "L1"))
    assert not list(tmp_path.glob("scan/*.scan.vcf.gz"))


def test_the_outputs_name_the_libraries_that_called(libraries, together, tmp_path: Path):
    import gzip

    from nlrp3annot.reads.scan_output import write_scan

    made, _ = libraries
    write_scan(together, tmp_path)
    rows = [line.split("\t") for line in (tmp_path / "scan.tsv").read_text().splitlines()]
    table = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    p907 = [r for r in table if r["sample"] == "P" and int(r["pos"]) == C907 and r["alt"] == "A"]
    assert p907[0]["called_in_libraries"] == "L1,L2" and p907[0]["verdict"] == "called"
    assert p907[0]["file"] == f"{made['P_L1']},{made['P_L2']}"
    j = [r for r in table if r["sample"] == "J" and int(r["pos"]) == C1043 and r["alt"] == "T"]
    assert j[0]["called_in_libraries"] == "L1" and j[0]["verdict"] != "called"
    with gzip.open(tmp_path / "P.scan.vcf.gz", "rt") as handle:
        text = handle.read()
    assert "##INFO=<ID=SCAN_LIBS" in text and "LIBRARIES=L1|L2" in text
    (call,) = [
        ln for ln in text.splitlines() if ln and not ln.startswith("#") and "NON_REF" not in ln
    ]
    assert "SCAN_LIBS=L1,L2" in call.split("\t")[7]


def test_redacted_outputs_name_no_library_after_the_patient(libraries, tmp_path: Path):
    """Labs name libraries after patients (LB PAT7-a): under --redact (as ``run`` scans)
    the libraries are written as lib1, lib2, and no output holds the patient's ID."""
    from nlrp3annot.cli.parser import build_parser
    from nlrp3annot.cli.scan import ScanOptions, run_scan
    from nlrp3annot.io.redact import Redactor

    made, negatives = libraries
    paths = [
        str(relabel(made[name], tmp_path / f"PAT7_{lb}.bam", "PAT7", f"PAT7-{lb}"))
        for name, lb in (("P_L1", "a"), ("P_L2", "b"))
    ] + [str(n) for n in negatives]
    folder = tmp_path / "scan"
    args = build_parser().parse_args(
        ["run", *paths, "--fasta", str(FASTA), "--clinical", "c.csv", "--samples", "s.csv",
         "-o", str(tmp_path / "out"), "--redact", str(tmp_path / "salt.txt"), "-q"]
    )  # fmt: skip
    redactor = Redactor.from_file(args.redact, announce=False)
    vcfs = run_scan(paths, str(FASTA), folder, ScanOptions.from_args(args), redactor)
    texts = [_gunzip(v) for v in vcfs] + [(folder / "scan.tsv").read_text()]
    assert not [t for t in texts if "PAT7" in t]
    assert any("LIBRARIES=lib1|lib2" in t for t in texts)
    assert "lib1,lib2" in texts[-1]  # the c.907 call, called in both


def _gunzip(path: Path) -> str:
    import gzip

    with gzip.open(path, "rt") as handle:
        return handle.read()


# --- replicate libraries merged into one file: one @RG per library, reads tagged RG:Z ---


def merge(path: Path, sample: str, parts: dict[str, Path], untag: int = 0, foreign: int = 0):
    """The reads of ``parts`` (LB -> a library's file) in one sorted BAM with an @RG per
    library (ID ``rg_<LB>``, SM ``sample``), each read tagged with its library's group and
    named after it (read names differ between libraries, as in a lab's merge). The first
    ``untag`` reads lose their RG tag; the next ``foreign`` name a group not in the header."""
    import pysam

    reads = []
    for lb, part in parts.items():
        with pysam.AlignmentFile(str(part)) as src:
            header = src.header.to_dict()
            for read in src:
                read.query_name = f"{lb}:{read.query_name}"
                read.set_tag("RG", f"rg_{lb}", "Z")
                reads.append(read.to_dict())
    header["RG"] = [{"ID": f"rg_{lb}", "SM": sample, "LB": lb} for lb in parts]
    out_header = pysam.AlignmentHeader.from_dict(header)
    built = [pysam.AlignedSegment.from_dict(r, out_header) for r in reads]
    built.sort(key=lambda r: (r.reference_id, r.reference_start))
    for n, read in enumerate(built[: untag + foreign]):
        read.set_tag("RG", None if n < untag else "rg_elsewhere")
    with pysam.AlignmentFile(str(path), "wb", header=out_header) as out:
        for read in built:
            out.write(read)
    pysam.index(str(path))
    return path


def tsv_rows(result, folder: Path) -> list[dict[str, str]]:
    """scan.tsv's rows without the file column (one path here, two there)."""
    from nlrp3annot.reads.scan_output import write_scan

    write_scan(result, folder)
    rows = [line.split("\t") for line in (folder / "scan.tsv").read_text().splitlines()]
    return [{k: v for k, v in zip(rows[0], r, strict=True) if k != "file"} for r in rows[1:]]


@pytest.fixture(scope="module")
def merged(libraries, tmp_path_factory):
    made, negatives = libraries
    tmp = tmp_path_factory.mktemp("merged")
    files = {
        "P": merge(tmp / "P_merged.bam", "P", {"L1": made["P_L1"], "L2": made["P_L2"]}),
        "J": merge(tmp / "J_merged.bam", "J", {"L1": made["J_L1"], "L2": made["J_L2"]}),
    }
    return files, scan_alignments([files["P"], files["J"], *negatives], FASTA)


def test_merged_libraries_are_judged_as_the_same_libraries_in_two_files(
    libraries, together, merged, tmp_path: Path
):
    made, _ = libraries
    files, result = merged
    apart, joined = tsv_rows(together, tmp_path / "apart"), tsv_rows(result, tmp_path / "one")
    assert joined == apart
    assert any(r["sample"] == "P" and r["verdict"] == "called" for r in joined)
    scan, c = found(result, "P", C907, "A")
    assert scan.libraries == ("L1", "L2") and scan.path == str(files["P"])
    assert c.called_in == ("L1", "L2")
    assert (c.alt_reads, c.depth) == bam_counts([files["P"]], C907, "A")
    assert (c.alt_reads, c.depth) == bam_counts([made["P_L1"], made["P_L2"]], C907, "A")
    (pair,) = [s for s in together.samples if s.sample == "P"]
    assert scan.lod == pair.lod


def test_a_jackpot_in_one_library_of_a_merged_file_is_not_called(libraries, merged):
    made, _ = libraries
    files, result = merged
    _, c = found(result, "J", C1043, "T")
    assert c is not None and c.verdict != "called", c
    assert c.called_in == ("L1",)
    assert (c.alt_reads, c.depth) == bam_counts([files["J"]], C1043, "T")
    assert bam_counts([made["J_L2"]], C1043, "T")[0] == 0
    assert not [x for s in result.samples for x in s.calls if s.sample != "P"]


def test_a_merged_file_and_a_file_of_a_third_library_are_three_replicates(
    libraries, tmp_path: Path
):
    made, negatives = libraries
    pair = merge(tmp_path / "P_merged.bam", "P", {"L1": made["P_L1"], "L2": made["P_L2"]})
    third = library(tmp_path, "P", "L3", Allele(C907, "A", 0.10), seed=5)
    result = scan_alignments([pair, third, *negatives], FASTA)
    scan, c = found(result, "P", C907, "A")
    assert scan.libraries == ("L1", "L2", "L3")
    assert c is not None and c.verdict == "called" and c.called_in == ("L1", "L2", "L3"), c
    assert (c.alt_reads, c.depth) == bam_counts([made["P_L1"], made["P_L2"], third], C907, "A")
    assert scan.assay is not None and scan.assay.libraries == 3
    # the third library's LB already in the merged file: one PCR twice, refused
    from nlrp3annot.errors import InputFileError

    again = library(tmp_path, "P", "L2", seed=6)
    with pytest.raises(InputFileError, match="'L2'") as refused:
        scan_alignments([pair, again, *negatives], FASTA)
    assert "the same library" in str(refused.value)


@pytest.mark.parametrize(("untag", "foreign"), [(7, 0), (0, 4), (7, 4)])
def test_reads_of_no_library_in_a_merged_file_are_refused_in_one_line(
    libraries, tmp_path: Path, capsys, untag, foreign
):
    from nlrp3annot.cli import main

    made, negatives = libraries
    bad = merge(tmp_path / "P_merged.bam", "P", {"L1": made["P_L1"], "L2": made["P_L2"]},
                untag=untag, foreign=foreign)  # fmt: skip
    capsys.readouterr()
    code = main(["scan", str(bad), *map(str, negatives), "--fasta", str(FASTA),
                 "-o", str(tmp_path / "scan")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert str(bad) in err[0] and f" {untag + foreign} of its reads" in err[0], err[0]
    assert not list(tmp_path.glob("scan/*.scan.vcf.gz"))
