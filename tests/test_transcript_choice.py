"""Reporting on other transcripts: a RefSeq-style GFF3 and a GENCODE-style GTF holding the
MANE transcript and the 1036-aa isoform (NM_004895.4 / ENST-style, CDS 6 nt upstream).
Expected names come from ClinVar's MANE names and the stated rule c.N+6 / p.N+2."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from conftest import DATA, TEST_FASTA, write_vcf

from nlrp3annot.cli import main
from nlrp3annot.genome.reference import mane_transcript

MANE = mane_transcript("GRCh38")
LONG_START = MANE.cds_start - 6  # the 1036-aa isoform's ATG (GENCODE 19 start codon)


def cds_parts(cds_start: int, cds_end: int) -> list[tuple[int, int]]:
    return [
        (max(s, cds_start), min(e, cds_end))
        for s, e in MANE.exons
        if e >= cds_start and s <= cds_end
    ]


def write_refseq_gff3(path: Path, broken: bool = False) -> Path:
    lines = [
        "##gff-version 3",
        "NC_000001.11\tBestRefSeq\tgene\t247416156\t247449108\t.\t+\t.\t"
        "ID=gene-NLRP3;Name=NLRP3;gene=NLRP3;gene_biotype=protein_coding",
    ]
    models = [
        ("NM_001243133.2", "NP_001230062.1", MANE.cds_start, "tag=MANE Select;"),
        ("NM_004895.4", "NP_004886.3", LONG_START, ""),
    ]
    if broken:
        models.append(("NM_999999.1", "NP_999999.1", MANE.cds_start, ""))
    for accession, protein, start, tag in models:
        rna = f"rna-{accession}"
        lines.append(
            f"NC_000001.11\tBestRefSeq\tmRNA\t{MANE.tx_start}\t{MANE.tx_end}\t.\t+\t.\t"
            f"ID={rna};Parent=gene-NLRP3;gene=NLRP3;{tag}transcript_id={accession}"
        )
        exons = list(MANE.exons)
        if accession == "NM_999999.1":  # one base short at the end of exon 5: CDS % 3 != 0
            exons[4] = (exons[4][0], exons[4][1] - 1)
        for s, e in exons:
            lines.append(
                f"NC_000001.11\tBestRefSeq\texon\t{s}\t{e}\t.\t+\t.\t"
                f"Parent={rna};gene=NLRP3;transcript_id={accession}"
            )
        done = 0
        for s, e in cds_parts(start, MANE.cds_end):
            if accession == "NM_999999.1" and (s, e) == (MANE.exons[4][0], MANE.exons[4][1]):
                e -= 1
            phase = (3 - done % 3) % 3
            lines.append(
                f"NC_000001.11\tBestRefSeq\tCDS\t{s}\t{e}\t.\t+\t{phase}\t"
                f"Parent={rna};gene=NLRP3;protein_id={protein}"
            )  # includes stop
            done += e - s + 1
    path.write_text("\n".join(lines) + "\n")
    return path


def write_gencode_gtf(path: Path) -> Path:
    lines = []
    for tid, start, tags in (
        ("ENST00000336119.8", MANE.cds_start, ' tag "MANE_Select"; tag "Ensembl_canonical";'),
        ("ENST00000999999.1", LONG_START, ""),
    ):
        attrs = f'gene_id "ENSG00000162711.18"; transcript_id "{tid}"; gene_name "NLRP3";'
        lines.append(
            f"chr1\tHAVANA\ttranscript\t{MANE.tx_start}\t{MANE.tx_end}\t.\t+\t.\t{attrs}{tags}"
        )
        for s, e in MANE.exons:
            lines.append(f"chr1\tHAVANA\texon\t{s}\t{e}\t.\t+\t.\t{attrs}{tags}")
        done = 0
        for s, e in cds_parts(start, MANE.cds_end - 3):  # GTF CDS excludes the stop codon
            phase = (3 - done % 3) % 3
            lines.append(f"chr1\tHAVANA\tCDS\t{s}\t{e}\t.\t+\t{phase}\t{attrs}{tags}")
            done += e - s + 1
        lines.append(f"chr1\tHAVANA\tstart_codon\t{start}\t{start + 2}\t.\t+\t0\t{attrs}")
        lines.append(
            f"chr1\tHAVANA\tstop_codon\t{MANE.cds_end - 2}\t{MANE.cds_end}\t.\t+\t0\t{attrs}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def clinvar_missense() -> list[tuple[int, str, str, int, str, int, str]]:
    """(GRCh38 pos, ref, alt, c. number, p. ref, p. number, p. alt) from ClinVar's names."""
    out = []
    with (DATA / "clinvar_NM_001243133.2.tsv").open() as handle:
        rows = csv.DictReader((x for x in handle if not x.startswith("#")), delimiter="\t")
        for r in rows:
            m = re.fullmatch(
                r"NM_001243133\.2\(NLRP3\):c\.(\d+)([ACGT])>([ACGT]) "
                r"\(p\.([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})\)",
                r["name"],
            )
            spdi = re.fullmatch(r"NC_000001\.11:(\d+):([ACGT]):([ACGT])", r["Canonical SPDI"])
            if m and spdi and m.group(6) != "Ter":
                out.append(
                    (
                        int(spdi.group(1)) + 1,
                        m.group(2),
                        m.group(3),
                        int(m.group(1)),
                        m.group(4),
                        int(m.group(5)),
                        m.group(6),
                    )
                )
    return out


def annotate(tmp_path: Path, *extra: str) -> list[dict[str, str]]:
    variants = clinvar_missense()
    vcf = write_vcf(tmp_path / "missense.vcf", [("chr1", p, r, a) for p, r, a, *_ in variants])
    out = tmp_path / "out.tsv"
    assert (
        main(
            [
                "annotate",
                str(vcf),
                "--fasta",
                str(TEST_FASTA["GRCh38"]),
                "-o",
                str(out),
                "-q",
                *extra,
            ]
        )
        == 0
    )
    with out.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("kind", ["refseq_gff3", "gencode_gtf"])
def test_second_isoform_names_are_c_plus_6_and_p_plus_2(tmp_path: Path, kind: str):
    if kind == "refseq_gff3":
        annotation, long_id, long_protein = (
            write_refseq_gff3(tmp_path / "refseq.gff3"),
            "NM_004895.4",
            "NP_004886.3",
        )
    else:
        annotation, long_id, long_protein = (
            write_gencode_gtf(tmp_path / "gencode.gtf"),
            "ENST00000999999.1",
            None,
        )
    rows = annotate(tmp_path, "--gff", str(annotation))
    by = {(r["pos"], r["alt"], r["transcript"]): r for r in rows}
    variants = clinvar_missense()
    assert len(variants) > 500
    for pos, _ref, alt, c, p_ref, p_pos, p_alt in variants:
        mane = by[(str(pos), alt, "NM_001243133.2")]
        long = by[(str(pos), alt, long_id)]
        assert mane["hgvs_c"].endswith(f":c.{c}{_ref}>{alt}")
        assert long["hgvs_c"] == f"{long_id}:c.{c + 6}{_ref}>{alt}"
        assert long["hgvs_p"].endswith(f":p.{p_ref}{p_pos + 2}{p_alt}")
        if long_protein:
            assert long["hgvs_p"].startswith(long_protein + ":")
        assert long["uniprot_position"] == mane["uniprot_position"] == str(p_pos + 2)
    d303n = by[("247424356", "A", long_id)]
    assert d303n["hgvs_c"].endswith("c.913G>A") and d303n["hgvs_p"].endswith("p.Asp305Asn")
    assert "MANE_Select" in by[("247424356", "A", "NM_001243133.2")]["flags"]


def test_pick_chooses_mane(tmp_path: Path):
    rows = annotate(tmp_path, "--gff", str(write_refseq_gff3(tmp_path / "refseq.gff3")), "--pick")
    assert {r["transcript"] for r in rows} == {"NM_001243133.2"}
    assert len(rows) == len(clinvar_missense())


def test_transcripts_option_narrows_to_named_accessions(tmp_path: Path):
    rows = annotate(
        tmp_path,
        "--gff",
        str(write_refseq_gff3(tmp_path / "refseq.gff3")),
        "--transcripts",
        "NM_004895.4",
    )
    assert {r["transcript"] for r in rows} == {"NM_004895.4"}


def test_bad_cds_transcript_is_refused_and_the_others_annotated(tmp_path: Path, capsys):
    gff = write_refseq_gff3(tmp_path / "refseq_broken.gff3", broken=True)
    variants = clinvar_missense()[:5]
    vcf = write_vcf(tmp_path / "few.vcf", [("chr1", p, r, a) for p, r, a, *_ in variants])
    out = tmp_path / "out.tsv"
    assert (
        main(
            [
                "annotate",
                str(vcf),
                "--fasta",
                str(TEST_FASTA["GRCh38"]),
                "-o",
                str(out),
                "--gff",
                str(gff),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "transcript left out: NM_999999.1" in err and "multiple of 3" in err
    with out.open() as handle:
        seen = {r["transcript"] for r in csv.DictReader(handle, delimiter="\t")}
    assert seen == {"NM_001243133.2", "NM_004895.4"}


def test_gff_without_nlrp3_is_a_one_line_error(tmp_path: Path, capsys):
    other = tmp_path / "other.gff3"
    other.write_text(
        "##gff-version 3\nNC_000001.11\tBestRefSeq\tgene\t100\t200\t.\t+\t.\t"
        "ID=gene-X;Name=OTHER;gene=OTHER\n"
    )
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 247424356, "G", "A")])
    assert (
        main(["annotate", str(vcf), "--fasta", str(TEST_FASTA["GRCh38"]), "--gff", str(other)]) == 2
    )
    assert "no NLRP3 transcript" in capsys.readouterr().err
