"""Transcript models from GFF3/GTF files and Ensembl REST, validated on the TEST genomes.

Annotation files are written here in each source's own conventions (NCBI RefSeq GFF3,
GENCODE GTF, Ensembl GFF3) from the bundled MANE model plus the 1036-aa isoform that starts
6 nt upstream (the TEST genome has ATG AAG there, as the real genome does). Nothing here
touches the internet: Ensembl REST is a local fake.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nlrp3annot.errors import FetchError, InputFileError, Nlrp3AnnotError, RecordError
from nlrp3annot.genome.annotation_files import read_annotation
from nlrp3annot.genome.ensembl_transcripts import (
    cached_transcripts,
    ensembl_lookup_url,
    fetch_ensembl_transcripts,
    transcripts_cache_path,
)
from nlrp3annot.genome.reference import (
    BUILDS,
    GRCH37_OFFSET,
    REFSEQ_CHR1,
    Transcript,
    mane_transcript,
)
from nlrp3annot.genome.sequence import LocusSequence, fasta_build
from nlrp3annot.genome.transcripts import (
    ENSEMBL_CANONICAL,
    LRG_STANDARD,
    MANE_SELECT,
    STOP_ADDED,
    UNIPROT_PREFIX,
    cds_length,
    pick_order,
    select,
    validate,
)

DATA = Path(__file__).parent / "data"
GENOME = {build: DATA / f"TEST_LOCUS_{build}_not_real_genome.fa.gz" for build in BUILDS}
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
UPSTREAM = 6  # the 1036-aa isoform starts two codons before the MANE ATG
MANE_PROTEIN_LENGTH = 1034


@pytest.fixture(scope="module")
def seqs() -> dict[str, LocusSequence]:
    return {build: fasta_build(GENOME[build]) for build in BUILDS}


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache, and no proxy can reroute localhost requests."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("NLRP3ANNOT_CACHE", str(folder))
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    return folder


# --------------------------------------------------------------------------- model specs


@dataclass(frozen=True)
class Spec:
    """What a test file says about one transcript (CDS end = last base of the stop)."""

    accession: str
    exons: tuple[tuple[int, int], ...]
    cds_start: int
    cds_end: int
    protein_id: str
    tags: tuple[str, ...] = ()
    ensembl_name: str = "NLRP3-201"


def mane_spec(build: str = "GRCh38", **changes: object) -> Spec:
    mane = mane_transcript(build)
    spec = Spec(mane.accession, mane.exons, mane.cds_start, mane.cds_end, mane.protein_id)
    return replace(spec, **changes)


def long_spec(build: str = "GRCh38", **changes: object) -> Spec:
    """NM_004895.4: same exons, CDS from the upstream ATG (exon 2 starts well before it)."""
    mane = mane_transcript(build)
    assert mane.exons[1][0] < mane.cds_start - UPSTREAM
    spec = Spec("NM_004895.4", mane.exons, mane.cds_start - UPSTREAM, mane.cds_end, "NP_004886.3")
    return replace(spec, **changes)


def frameshifted_spec(build: str = "GRCh38") -> Spec:
    """One base short at the end of exon 3 (a coding exon): CDS length 3104."""
    exons = list(mane_transcript(build).exons)
    exons[2] = (exons[2][0], exons[2][1] - 1)
    return mane_spec(build, accession="NM_999999.1", exons=tuple(exons), protein_id="NP_999999.1")


def coding_pieces(
    exons: tuple[tuple[int, int], ...], start: int, end: int
) -> list[tuple[int, int, int]]:
    """(start, end, phase) of the CDS in each exon, as GFF3/GTF CDS rows give them."""
    pieces, done = [], 0
    for s, e in exons:
        lo, hi = max(s, start), min(e, end)
        if lo <= hi:
            pieces.append((lo, hi, (3 - done % 3) % 3))
            done += hi - lo + 1
    return pieces


def row(seqid: str, source: str, kind: str, start: int, end: int, attrs: str, **kw: str) -> str:
    phase = kw.get("phase", ".")
    strand = kw.get("strand", "+")
    return f"{seqid}\t{source}\t{kind}\t{start}\t{end}\t.\t{strand}\t{phase}\t{attrs}"


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def refseq_gff3(path: Path, specs: list[Spec], build: str = "GRCh38", **kw: object) -> Path:
    """NCBI RefSeq GFF3: NC_ seqid, gene-/rna-/cds- IDs, CDS rows include the stop codon."""
    seqid = REFSEQ_CHR1[build]
    strand = str(kw.get("strand", "+"))
    gene_start = min(s.exons[0][0] for s in specs)
    gene_end = max(s.exons[-1][1] for s in specs)
    lines = [
        "##gff-version 3",
        f"#!genome-build {build}",
        f"##sequence-region {seqid} 1 248956422",
        row(seqid, "RefSeq", "region", 1, 248956422, f"ID={seqid}:1..248956422;chromosome=1"),
        row(seqid, "BestRefSeq", "gene", 1000, 2000, "ID=gene-OR4F5;Name=OR4F5;gene=OR4F5"),
        row("NC_000002.12", "BestRefSeq", "gene", 5000, 9000, "ID=gene-X;Name=X;gene=X"),
        row(
            seqid,
            "BestRefSeq",
            "gene",
            gene_start,
            gene_end,
            "ID=gene-NLRP3;Dbxref=GeneID:114548,HGNC:HGNC:16400;Name=NLRP3;gbkey=Gene;"
            "gene=NLRP3;gene_biotype=protein_coding",
        ),
    ]
    for spec in specs:
        rna = f"rna-{spec.accession}"
        tags = "".join(f";tag={tag}" for tag in spec.tags)
        lines.append(
            row(
                seqid,
                "BestRefSeq",
                "mRNA",
                spec.exons[0][0],
                spec.exons[-1][1],
                f"ID={rna};Parent=gene-NLRP3;Dbxref=GeneID:114548;Name={spec.accession};"
                f"gbkey=mRNA;gene=NLRP3;product=NLR family pyrin domain containing 3%2C "
                f"transcript variant 1{tags};transcript_id={spec.accession}",
                strand=strand,
            )
        )
        for i, (s, e) in enumerate(spec.exons, 1):
            lines.append(
                row(
                    seqid,
                    "BestRefSeq",
                    "exon",
                    s,
                    e,
                    f"ID=exon-{spec.accession}-{i};Parent={rna};gene=NLRP3;"
                    f"transcript_id={spec.accession}",
                    strand=strand,
                )
            )
        for s, e, phase in coding_pieces(spec.exons, spec.cds_start, spec.cds_end):
            lines.append(
                row(
                    seqid,
                    "BestRefSeq",
                    "CDS",
                    s,
                    e,
                    f"ID=cds-{spec.protein_id};Parent={rna};Name={spec.protein_id};gbkey=CDS;"
                    f"gene=NLRP3;protein_id={spec.protein_id}",
                    phase=str(phase),
                    strand=strand,
                )
            )
    return write(path, lines, gz=bool(kw.get("gz")))


def gencode_gtf(path: Path, specs: list[Spec], stop_rows: bool = True) -> Path:
    """GENCODE GTF: chr1, versioned ids, CDS rows EXCLUDE the stop codon (stop_codon rows)."""
    gene = 'gene_id "ENSG00000162711.18"; gene_type "protein_coding"; gene_name "NLRP3"; '
    lines = [
        "##description: evidence-based annotation of the human genome (GRCh38), version 44",
        "##format: gtf",
        row("chr1", "HAVANA", "gene", 100, 900, 'gene_id "ENSG1.1"; gene_name "OTHER";'),
        row("chr1", "HAVANA", "gene", 247416156, 247449108, gene + "level 2;"),
    ]
    for spec in specs:
        tx = (
            f'{gene}transcript_id "{spec.accession}"; transcript_type "protein_coding"; '
            f'transcript_name "{spec.ensembl_name}"; level 2; protein_id "{spec.protein_id}"; '
            + "".join(f'tag "{tag}"; ' for tag in ("basic", *spec.tags))
        ).strip()
        lines.append(row("chr1", "HAVANA", "transcript", spec.exons[0][0], spec.exons[-1][1], tx))
        for i, (s, e) in enumerate(spec.exons, 1):
            lines.append(row("chr1", "HAVANA", "exon", s, e, f"{tx} exon_number {i};"))
        pieces = coding_pieces(spec.exons, spec.cds_start, spec.cds_end - 3)
        for s, e, phase in pieces:
            lines.append(row("chr1", "HAVANA", "CDS", s, e, tx, phase=str(phase)))
        lines.append(row("chr1", "HAVANA", "start_codon", spec.cds_start, spec.cds_start + 2, tx))
        if stop_rows:
            lines.append(row("chr1", "HAVANA", "stop_codon", spec.cds_end - 2, spec.cds_end, tx))
    return write(path, lines)


def ensembl_gff3(path: Path, specs: list[Spec], build: str = "GRCh38") -> Path:
    """Ensembl GFF3: seqid 1, gene:/transcript:/CDS: IDs, versions apart, CDS incl. stop."""
    lines = [
        "##gff-version 3",
        "##sequence-region   1 1 248956422",
        row("1", "ensembl_havana", "gene", 247416156, 247449108,
            "ID=gene:ENSG00000162711;Name=NLRP3;biotype=protein_coding;"
            "gene_id=ENSG00000162711;logic_name=ensembl_havana_gene_homo_sapiens;version=18"),
    ]  # fmt: skip
    for spec in specs:
        tid, version = spec.accession.split(".")
        pid = spec.protein_id.split(".")[0]
        tags = ",".join(("basic", *spec.tags))
        lines.append(
            row(
                "1",
                "ensembl_havana",
                "mRNA",
                spec.exons[0][0],
                spec.exons[-1][1],
                f"ID=transcript:{tid};Parent=gene:ENSG00000162711;Name={spec.ensembl_name};"
                f"biotype=protein_coding;tag={tags};transcript_id={tid};version={version}",
            )
        )
        for i, (s, e) in enumerate(spec.exons, 1):
            lines.append(
                row(
                    "1",
                    "ensembl_havana",
                    "exon",
                    s,
                    e,
                    f"Parent=transcript:{tid};Name=ENSE0000{i};exon_id=ENSE0000{i};rank={i};"
                    "version=1",
                )
            )
        for s, e, phase in coding_pieces(spec.exons, spec.cds_start, spec.cds_end):
            lines.append(
                row(
                    "1",
                    "ensembl_havana",
                    "CDS",
                    s,
                    e,
                    f"ID=CDS:{pid};Parent=transcript:{tid};protein_id={pid}",
                    phase=str(phase),
                )
            )
    return write(path, lines)


ENSEMBL_MANE = mane_spec(
    accession="ENST00000336119.8",
    protein_id="ENSP00000337383.4",
    tags=("Ensembl_canonical", "MANE_Select"),
)
ENSEMBL_LONG = long_spec(
    accession="ENST00000999001.1", protein_id="ENSP00000999001.1", ensembl_name="NLRP3-202"
)


def by_accession(transcripts: list[Transcript]) -> dict[str, Transcript]:
    return {t.accession: t for t in transcripts}


def checked(t: Transcript, seq: LocusSequence) -> Transcript:
    valid, reason = validate(t, seq)
    assert valid is not None, reason
    assert reason == ""
    return valid


def assert_mane_like(t: Transcript, build: str = "GRCh38") -> None:
    mane = mane_transcript(build)
    assert (t.exons, t.cds_start, t.cds_end) == (mane.exons, mane.cds_start, mane.cds_end)
    assert t.protein == mane.protein and len(t.protein) == MANE_PROTEIN_LENGTH
    assert t.uniprot_offset == 2 == mane.uniprot_offset
    assert t.domains == mane.domains
    assert MANE_SELECT in t.flags


def assert_long_isoform(t: Transcript, build: str = "GRCh38") -> None:
    mane = mane_transcript(build)
    assert (t.exons, t.cds_start, t.cds_end) == (mane.exons, mane.cds_start - 6, mane.cds_end)
    assert len(t.protein) == MANE_PROTEIN_LENGTH + 2
    assert t.protein.startswith("MKM") and t.protein == UNIPROT_PREFIX + mane.protein
    assert t.uniprot_offset == 0
    assert t.domains and all(
        (d.start, d.end) == (d.uniprot_start, d.uniprot_end) for d in t.domains
    )
    assert [d.name for d in t.domains] == [d.name for d in mane.domains]
    assert t.legacy_exon_numbers == (None,) * len(t.exons)
    assert MANE_SELECT not in t.flags


# --------------------------------------------------------------------------- reading files


@pytest.mark.parametrize("gz", [False, True])
def test_refseq_gff3(tmp_path: Path, seqs, gz: bool) -> None:
    path = refseq_gff3(
        tmp_path / ("refseq.gff3.gz" if gz else "refseq.gff3"),
        [mane_spec(tags=("MANE Select",)), long_spec()],
        gz=gz,
    )
    drafts = read_annotation(path, "GRCh38")
    assert [t.accession for t in drafts] == ["NM_001243133.2", "NM_004895.4"]
    assert all(t.protein == "" and t.build == "GRCh38" and t.chrom == "chr1" for t in drafts)
    mane, long = (checked(t, seqs["GRCh38"]) for t in drafts)

    assert_mane_like(mane)
    assert (mane.protein_id, mane.ensembl_id, mane.gene_id) == (
        "NP_001230062.1",
        "ENST00000336119.8",
        "GeneID:114548",
    )
    # Same exons as the bundled model: the legacy (CAPS literature) numbering carries over.
    assert mane.legacy_exon_numbers == mane_transcript("GRCh38").legacy_exon_numbers
    assert mane.flags == (MANE_SELECT,)
    assert STOP_ADDED not in mane.flags  # RefSeq CDS rows include the stop codon

    assert_long_isoform(long)
    assert (long.protein_id, long.ensembl_id) == ("NP_004886.3", "")
    assert long.flags == (LRG_STANDARD,)


def test_gencode_gtf(tmp_path: Path, seqs) -> None:
    path = gencode_gtf(
        tmp_path / "gencode.gtf",
        [
            replace(ENSEMBL_MANE, tags=("Ensembl_canonical", "MANE_Select")),
            ENSEMBL_LONG,
        ],
    )
    drafts = by_accession(read_annotation(path, "GRCh38"))
    assert list(drafts) == ["ENST00000336119.8", "ENST00000999001.1"]
    # stop_codon rows put the stop inside cds_end already.
    assert drafts["ENST00000336119.8"].cds_end == mane_transcript("GRCh38").cds_end
    mane = checked(drafts["ENST00000336119.8"], seqs["GRCh38"])
    long = checked(drafts["ENST00000999001.1"], seqs["GRCh38"])
    assert_mane_like(mane)
    assert mane.flags == (MANE_SELECT, ENSEMBL_CANONICAL)
    assert (mane.ensembl_id, mane.protein_id, mane.gene_id) == (
        "ENST00000336119.8",
        "ENSP00000337383.4",
        "ENSG00000162711.18",
    )
    assert_long_isoform(long)
    assert long.flags == ()


def test_gtf_without_stop_codon_rows_gets_the_stop(tmp_path: Path, seqs) -> None:
    path = gencode_gtf(tmp_path / "nostop.gtf", [ENSEMBL_MANE, ENSEMBL_LONG], stop_rows=False)
    drafts = read_annotation(path, "GRCh38")
    mane_end = mane_transcript("GRCh38").cds_end
    assert all(t.cds_end == mane_end - 3 for t in drafts)  # as the file says
    for t in drafts:
        valid = checked(t, seqs["GRCh38"])
        assert valid.cds_end == mane_end and STOP_ADDED in valid.flags
    assert_mane_like(checked(drafts[0], seqs["GRCh38"]))
    assert_long_isoform(checked(drafts[1], seqs["GRCh38"]))


def test_ensembl_gff3(tmp_path: Path, seqs) -> None:
    path = ensembl_gff3(tmp_path / "ensembl.gff3", [ENSEMBL_MANE, ENSEMBL_LONG])
    drafts = by_accession(read_annotation(path, "GRCh38"))
    assert list(drafts) == ["ENST00000336119.8", "ENST00000999001.1"]
    mane = checked(drafts["ENST00000336119.8"], seqs["GRCh38"])
    assert_mane_like(mane)
    assert mane.flags == (MANE_SELECT, ENSEMBL_CANONICAL)
    assert (mane.protein_id, mane.gene_id) == ("ENSP00000337383", "ENSG00000162711.18")
    assert STOP_ADDED not in mane.flags
    assert_long_isoform(checked(drafts["ENST00000999001.1"], seqs["GRCh38"]))


def test_grch37_file(tmp_path: Path, seqs) -> None:
    path = refseq_gff3(tmp_path / "b37.gff3", [mane_spec("GRCh37"), long_spec("GRCh37")], "GRCh37")
    mane, long = (checked(t, seqs["GRCh37"]) for t in read_annotation(path, "GRCh37"))
    assert_mane_like(mane, "GRCh37")
    assert_long_isoform(long, "GRCh37")
    assert mane.cds_start == mane_transcript("GRCh38").cds_start + GRCH37_OFFSET


def test_frameshifted_model_is_refused_naming_it(tmp_path: Path, seqs) -> None:
    path = refseq_gff3(tmp_path / "bad.gff3", [mane_spec(), frameshifted_spec()])
    good, bad = read_annotation(path, "GRCh38")
    assert checked(good, seqs["GRCh38"]).protein
    valid, reason = validate(bad, seqs["GRCh38"])
    assert valid is None
    assert reason == "NM_999999.1: CDS length 3104 is not a multiple of 3"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"cds_start": 247418802}, "CDS length 3104 is not a multiple of 3"),
        ({"cds_start": 247418801 + 3}, "CDS starts with GCG, not ATG"),
        ({"cds_end": 247448504 - 6}, "CDS ends with"),
        ({"cds_start": 247417000}, "does not lie in its exons"),
        ({"exons": ((247416173, 247418100), (247418053, 247419077))}, "exons overlap"),
    ],
)
def test_validate_reasons(seqs, change: dict, expected: str) -> None:
    draft = replace(mane_transcript("GRCh38"), accession="NM_TEST.1", protein="", **change)
    valid, reason = validate(draft, seqs["GRCh38"])
    assert valid is None
    assert reason.startswith("NM_TEST.1: ") and expected in reason
    assert "\n" not in reason


def test_validate_refuses_other_build_and_unknown_bases(seqs) -> None:
    valid, reason = validate(mane_transcript("GRCh37"), seqs["GRCh38"])
    assert valid is None and "GRCh37" in reason
    empty = LocusSequence("GRCh38", 1, "N" * 100, "nowhere")
    valid, reason = validate(mane_transcript("GRCh38"), empty)
    assert valid is None and "unknown bases" in reason


def test_stop_codon_taken_in_across_an_exon_boundary() -> None:
    # Exon 1 ends with ATG AAA T, exon 2 starts with AG: the stop TAG spans the junction.
    bases = "CCATGAAATGGGGGGGGGGGAGCC"
    seq = LocusSequence("GRCh38", 1, bases, "synthetic")
    exon1, exon2 = (1, 9), (21, 24)
    assert seq.get(*exon1) + seq.get(*exon2) == "CCATGAAATAGCC"
    draft = replace(
        mane_transcript("GRCh38"),
        accession="NM_SPLIT.1",
        exons=(exon1, exon2),
        cds_start=3,
        cds_end=8,  # ATG AAA, stop not included
        protein="",
        legacy_exon_numbers=(None, None),
    )
    valid = checked(draft, seq)
    assert valid.cds_end == 22 and valid.protein == "MK" and STOP_ADDED in valid.flags
    # "MK" is the start of UniProt Q96P20, so the domain placement finds it at index 0;
    # only the PYD (1-93) overlaps two residues.
    assert valid.uniprot_offset == 0
    assert [(d.name, d.start, d.end) for d in valid.domains] == [("PYD", 1, 2)]


def test_internal_stop_is_refused() -> None:
    seq = LocusSequence("GRCh38", 1, "ATGTAGTGGTAA", "synthetic")
    draft = replace(
        mane_transcript("GRCh38"),
        accession="NM_STOP.1",
        exons=((1, 12),),
        cds_start=1,
        cds_end=12,
        protein="",
        legacy_exon_numbers=(None,),
    )
    assert validate(draft, seq) == (None, "NM_STOP.1: internal stop codon at codon 2")


def test_other_protein_gets_no_domains() -> None:
    seq = LocusSequence("GRCh38", 1, "ATGTGGTGGTAA", "synthetic")
    draft = replace(
        mane_transcript("GRCh38"),
        exons=((1, 12),),
        cds_start=1,
        cds_end=12,
        protein="",
        legacy_exon_numbers=(None,),
    )
    valid = checked(draft, seq)
    assert valid.protein == "MWW" and valid.domains == () and valid.uniprot_offset == 0


def test_minus_strand_is_refused(tmp_path: Path) -> None:
    path = refseq_gff3(tmp_path / "minus.gff3", [mane_spec()], strand="-")
    with pytest.raises(RecordError, match="minus strand") as err:
        read_annotation(path, "GRCh38")
    assert "line 8" in str(err.value) and "NM_001243133.2" in str(err.value)


def test_file_without_nlrp3(tmp_path: Path) -> None:
    path = write(
        tmp_path / "other.gff3",
        ["##gff-version 3", row("chr1", "x", "gene", 5, 50, "ID=gene-A;Name=A;gene=A")],
    )
    with pytest.raises(InputFileError, match="has no NLRP3 transcript"):
        read_annotation(path, "GRCh38")
    empty = write(tmp_path / "empty.gtf", ["#nothing"])
    with pytest.raises(InputFileError, match="has no NLRP3 transcript"):
        read_annotation(empty, "GRCh38")


def test_noncoding_only_has_no_transcript(tmp_path: Path) -> None:
    spec = mane_spec()
    lines = refseq_gff3(tmp_path / "a.gff3", [spec]).read_text().splitlines()
    path = write(tmp_path / "nc.gff3", [line for line in lines if "\tCDS\t" not in line])
    with pytest.raises(InputFileError, match="has no NLRP3 transcript"):
        read_annotation(path, "GRCh38")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        read_annotation(tmp_path / "absent.gff3", "GRCh38")
    with pytest.raises(InputFileError, match="cannot be read"):
        read_annotation(tmp_path, "GRCh38")  # a folder
    binary = tmp_path / "binary.gff3"
    binary.write_bytes(b"\xff\xfe\x00 not text \x80")
    with pytest.raises(InputFileError, match="cannot be read"):
        read_annotation(binary, "GRCh38")
    broken = tmp_path / "broken.gff3.gz"
    broken.write_bytes(gzip.compress(b"##gff-version 3\n" * 50)[:30])
    with pytest.raises(InputFileError, match="cannot be read"):
        read_annotation(broken, "GRCh38")


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("chr1\tx\tgene\t1\t10", "has 5 tab-separated columns"),
        (row("chr1", "x", "exon", "a", 10, "ID=x"), "not integers"),  # type: ignore[arg-type]
        (row("chr1", "x", "exon", 20, 10, "ID=x"), "not a range"),
        (row("chr1", "x", "exon", 1, 10, "ID=x", strand="*"), "strand"),
    ],
)
def test_malformed_line_names_its_number(tmp_path: Path, bad: str, problem: str) -> None:
    path = write(tmp_path / "bad.gff3", ["##gff-version 3", "#comment", bad])
    with pytest.raises(RecordError, match=problem) as err:
        read_annotation(path, "GRCh38")
    assert "record line 3:" in str(err.value)


def test_malformed_attributes_near_nlrp3(tmp_path: Path) -> None:
    good = row("chr1", "x", "gene", 247416156, 247449108, 'gene_id "X"; gene_name "NLRP3";')
    bad = row("chr1", "x", "exon", 247416173, 247416193, 'gene_id "X"; gene_name NLRP3 "oops"')
    path = write(tmp_path / "bad.gtf", [good, bad])
    with pytest.raises(RecordError, match="line 2: .*GTF attributes"):
        read_annotation(path, "GRCh38")
    path = write(tmp_path / "bad.gff3", [row("chr1", "x", "gene", 247416156, 247449108, "@@")])
    with pytest.raises(RecordError, match="line 1: attributes are neither GFF3"):
        read_annotation(path, "GRCh38")


def test_wrong_build_is_refused(tmp_path: Path) -> None:
    named37 = refseq_gff3(tmp_path / "b37.gff3", [mane_spec("GRCh37")], "GRCh37")
    with pytest.raises(InputFileError, match=r"NC_000001\.10 \(a GRCh37 sequence\)"):
        read_annotation(named37, "GRCh38")
    # With chr1 naming only the position can tell: GRCh37 coordinates given as GRCh38.
    gtf37 = gencode_gtf(tmp_path / "b37.gtf", [mane_spec("GRCh37")])
    with pytest.raises(InputFileError, match="not at NLRP3 on GRCh38.*looks like GRCh37"):
        read_annotation(gtf37, "GRCh38")


def test_unknown_build() -> None:
    with pytest.raises(ValueError):
        read_annotation("x.gff3", "hg19")


# --------------------------------------------------------------------------- select / pick


def models(seqs) -> list[Transcript]:
    """A longer Ensembl model (no flags), the LRG isoform NM_004895.4, and MANE."""
    mane = checked(mane_transcript("GRCh38"), seqs["GRCh38"])
    lrg = checked(_long_draft(), seqs["GRCh38"])
    ens = checked(
        replace(
            _long_draft(),
            accession="ENST00000999001.1",
            ensembl_id="ENST00000999001.1",
            flags=(),
        ),
        seqs["GRCh38"],
    )
    return [ens, lrg, mane]


def _long_draft() -> Transcript:
    spec = long_spec()
    return replace(
        mane_transcript("GRCh38"),
        accession=spec.accession,
        ensembl_id="",
        protein_id=spec.protein_id,
        cds_start=spec.cds_start,
        protein="",
        legacy_exon_numbers=(None,) * len(spec.exons),
        flags=(LRG_STANDARD,),
    )


def test_pick_order(seqs) -> None:
    ens, lrg, mane = models(seqs)
    assert cds_length(ens) == cds_length(lrg) == cds_length(mane) + 6
    assert [t.accession for t in sorted([ens, lrg, mane], key=pick_order)] == [
        "NM_001243133.2",
        "NM_004895.4",
        "ENST00000999001.1",
    ]
    shorter = replace(ens, accession="ENST00000000002.1", cds_start=mane.cds_start)
    longer = replace(ens, accession="ENST00000000003.1")
    assert sorted([shorter, longer], key=pick_order) == [longer, shorter]
    tie = replace(longer, accession="ENST00000000001.1")
    assert sorted([longer, tie], key=pick_order) == [tie, longer]


def test_select(seqs) -> None:
    ens, lrg, mane = models(seqs)
    everything = [ens, lrg, mane]
    assert select(everything, "all") == everything
    assert select(everything, " MANE ") == [mane]
    assert select(everything, "NM_004895.4") == [lrg]
    assert select(everything, "NM_004895,ENST00000336119") == [lrg, mane]  # MANE's Ensembl id
    assert select(everything, "enst00000999001.1, NM_004895.4") == [ens, lrg]
    with pytest.raises(Nlrp3AnnotError, match="unknown NLRP3 transcript NM_000000.1") as err:
        select(everything, "NM_004895.4,NM_000000.1")
    assert "NM_001243133.2, NM_004895.4, ENST00000999001.1" in str(err.value)
    with pytest.raises(Nlrp3AnnotError, match="unknown NLRP3 transcript NM_004895.3"):
        select(everything, "NM_004895.3")  # a version that is not there
    with pytest.raises(Nlrp3AnnotError, match="no MANE Select"):
        select([ens, lrg], "mane")
    with pytest.raises(Nlrp3AnnotError, match="empty transcript choice"):
        select(everything, " , ")


# --------------------------------------------------------------------------- Ensembl REST


def lookup_transcript(spec: Spec, build: str, canonical: bool, biotype: str) -> dict:
    """One transcript as Ensembl REST lookup?expand=1 gives it."""
    tid, version = spec.accession.split(".")
    pid, pversion = spec.protein_id.split(".")
    common = {"species": "homo_sapiens", "assembly_name": build, "db_type": "core"}
    tx = {
        "id": tid,
        "version": int(version),
        "display_name": spec.ensembl_name,
        "Parent": "ENSG00000162711",
        "object_type": "Transcript",
        "seq_region_name": "1",
        "start": spec.exons[0][0],
        "end": spec.exons[-1][1],
        "strand": 1,
        "biotype": biotype,
        "is_canonical": int(canonical),
        "logic_name": "ensembl_havana_transcript_homo_sapiens",
        "source": "ensembl_havana",
        "Exon": [
            {
                "id": f"ENSE{i:011d}",
                "version": 1,
                "object_type": "Exon",
                "seq_region_name": "1",
                "start": s,
                "end": e,
                "strand": 1,
                **common,
            }
            for i, (s, e) in enumerate(spec.exons, 1)
        ],
        **common,
    }
    if biotype == "protein_coding":
        tx["Translation"] = {
            "id": pid,
            "version": int(pversion),
            "Parent": tid,
            "object_type": "Translation",
            "start": spec.cds_start,
            "end": spec.cds_end,
            "length": (cds_length_of(spec) - 3) // 3,
            **common,
        }
    return tx


def cds_length_of(spec: Spec) -> int:
    return sum(e - s + 1 for s, e, _ in coding_pieces(spec.exons, spec.cds_start, spec.cds_end))


def lookup_json(build: str) -> dict:
    mane = mane_spec(build, accession=ENSEMBL_MANE.accession, protein_id=ENSEMBL_MANE.protein_id)
    long = long_spec(
        build,
        accession=ENSEMBL_LONG.accession,
        protein_id=ENSEMBL_LONG.protein_id,
        ensembl_name=ENSEMBL_LONG.ensembl_name,
    )
    retained = replace(long, accession="ENST00000999002.1", ensembl_name="NLRP3-203")
    model = mane_transcript(build)
    return {
        "id": "ENSG00000162711",
        "version": 18,
        "display_name": "NLRP3",
        "object_type": "Gene",
        "species": "homo_sapiens",
        "assembly_name": build,
        "db_type": "core",
        "seq_region_name": "1",
        "start": model.exons[0][0] - 17,
        "end": model.exons[-1][1] + 291,
        "strand": 1,
        "biotype": "protein_coding",
        "canonical_transcript": "ENST00000336119.8",
        "description": "NLR family pyrin domain containing 3 [Source:HGNC Symbol;Acc:HGNC:16400]",
        "Transcript": [
            lookup_transcript(mane, build, True, "protein_coding"),
            lookup_transcript(long, build, False, "protein_coding"),
            lookup_transcript(retained, build, False, "retained_intron"),
        ],
    }


class FakeEnsembl(BaseHTTPRequestHandler):
    """GET /lookup/id/ENSG00000162711?expand=1 with Content-Type application/json."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        server.requests.append((self.path, self.headers.get("Content-Type")))  # type: ignore[attr-defined]
        behaviour = server.behaviour  # type: ignore[attr-defined]
        if "status" in behaviour:
            self._send(behaviour["status"], "text/plain", "Something went wrong on our side\n")
        elif self.path != "/lookup/id/ENSG00000162711?expand=1":
            self._send(404, "application/json", '{"error": "not found"}')
        elif self.headers.get("Content-Type") != "application/json":
            self._send(200, "text/x-yaml", "---\nid: ENSG00000162711\n")
        elif "body" in behaviour:
            self._send(200, "application/json", behaviour["body"])
        else:
            self._send(200, "application/json", json.dumps(server.answer))  # type: ignore[attr-defined]

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeEnsembl)
    httpd.behaviour = {}  # type: ignore[attr-defined]
    httpd.requests = []  # type: ignore[attr-defined]
    httpd.answer = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def base_url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.mark.parametrize("build", BUILDS)
def test_fetch_writes_cache_of_validating_models(server, cache: Path, seqs, build: str) -> None:
    server.answer = lookup_json(build)
    assert cached_transcripts(build) is None
    path = fetch_ensembl_transcripts(build, base_url=base_url(server), timeout=5)

    assert path == cache / f"transcripts_{build}.json" == transcripts_cache_path(build)
    assert sorted(p.name for p in cache.iterdir()) == [path.name]  # no temp file left
    assert server.requests == [("/lookup/id/ENSG00000162711?expand=1", "application/json")]
    payload = json.loads(path.read_text())
    assert payload["build"] == build
    assert payload["source"] == base_url(server) + "/lookup/id/ENSG00000162711?expand=1"
    assert len(payload["fetched"]) == 10

    cached = cached_transcripts(build)
    assert cached is not None
    assert [t.accession for t in cached] == ["ENST00000336119.8", "ENST00000999001.1"]
    mane, long = (checked(t, seqs[build]) for t in cached)
    assert_mane_like(mane, build)
    assert mane.flags == (MANE_SELECT, ENSEMBL_CANONICAL)
    assert (mane.protein_id, mane.gene_id) == ("ENSP00000337383.4", "ENSG00000162711.18")
    assert_long_isoform(long, build)

    # The same models read from an Ensembl GFF3 validate to the same result.
    specs = [
        replace(ENSEMBL_MANE, **_placed(mane)),
        replace(ENSEMBL_LONG, **_placed(long)),
    ]
    gff = ensembl_gff3(cache.parent / "e.gff3", specs, build)
    from_file = [checked(t, seqs[build]) for t in read_annotation(gff, build)]
    assert [replace(t, protein_id=t.protein_id.split(".")[0]) for t in (mane, long)] == from_file


def _placed(t: Transcript) -> dict:
    return {"exons": t.exons, "cds_start": t.cds_start, "cds_end": t.cds_end}


@pytest.mark.parametrize("status", [500, 404])
def test_fetch_http_error(server, cache: Path, status: int) -> None:
    server.behaviour["status"] = status
    with pytest.raises(FetchError, match=f"HTTP {status}") as err:
        fetch_ensembl_transcripts("GRCh38", base_url=base_url(server), timeout=5)
    assert ensembl_lookup_url("GRCh38", base_url(server)) in str(err.value)
    assert "\n" not in str(err.value)
    assert not cache.exists() or not list(cache.iterdir())
    assert cached_transcripts("GRCh38") is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<html>busy</html>", "not JSON"),
        ("[]", "not an Ensembl gene lookup"),
        ('{"id": "ENSG00000000001", "Transcript": []}', "not ENSG00000162711"),
        ('{"id": "ENSG00000162711", "assembly_name": "GRCh37", "Transcript": []}', "GRCh37"),
        ('{"id": "ENSG00000162711", "Transcript": []}', "no protein-coding"),
        ('{"id": "ENSG00000162711"}', "not an Ensembl gene lookup"),
    ],
)
def test_fetch_refuses_odd_answers(server, cache: Path, body: str, problem: str) -> None:
    server.behaviour["body"] = body
    with pytest.raises(FetchError, match=problem):
        fetch_ensembl_transcripts("GRCh38", base_url=base_url(server), timeout=5)
    assert not cache.exists()


def test_fetch_refuses_minus_strand(server, cache: Path) -> None:
    answer = lookup_json("GRCh38")
    answer["Transcript"][1]["strand"] = -1
    server.answer = answer
    with pytest.raises(FetchError, match="ENST00000999001.1 is on the minus strand"):
        fetch_ensembl_transcripts("GRCh38", base_url=base_url(server), timeout=5)
    assert not cache.exists()


def test_corrupt_cache_raises(server) -> None:
    server.answer = lookup_json("GRCh38")
    path = fetch_ensembl_transcripts("GRCh38", base_url=base_url(server), timeout=5)
    text = path.read_text()
    for broken in (text[:50], text.replace('"GRCh38"', '"GRCh37"', 1), "{}", "[1]"):
        path.write_text(broken)
        with pytest.raises(FetchError, match="fetch the GRCh38 transcripts again") as err:
            cached_transcripts("GRCh38")
        assert str(path) in str(err.value)


def test_default_lookup_urls() -> None:
    assert ensembl_lookup_url("GRCh38") == (
        "https://rest.ensembl.org/lookup/id/ENSG00000162711?expand=1"
    )
    assert ensembl_lookup_url("GRCh37") == (
        "https://grch37.rest.ensembl.org/lookup/id/ENSG00000162711?expand=1"
    )
    with pytest.raises(ValueError):
        ensembl_lookup_url("hg19")


def test_cli_fetch_transcripts_then_annotate_all(server, cache: Path, tmp_path: Path) -> None:
    """`reference fetch --transcripts all --no-sequence`, then `annotate --transcripts all`
    reports on every fetched model (here MANE and the 1036-aa isoform)."""
    from conftest import TEST_FASTA, write_vcf

    from nlrp3annot.cli import main

    server.answer = lookup_json("GRCh38")
    assert (
        main(
            [
                "reference",
                "fetch",
                "--transcripts",
                "all",
                "--no-sequence",
                "--transcripts-url",
                base_url(server),
                "-q",
            ]
        )
        == 0
    )
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 247424356, "G", "A")])
    out = tmp_path / "out.tsv"
    assert (
        main(
            [
                "annotate",
                str(vcf),
                "--fasta",
                str(TEST_FASTA["GRCh38"]),
                "--transcripts",
                "all",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    header = lines[0].split("\t")
    names = sorted(dict(zip(header, line.split("\t"), strict=True))["hgvs_c"] for line in lines[1:])
    assert len(names) == 2
    assert sorted(name.split(":")[1] for name in names) == ["c.907G>A", "c.913G>A"]
