"""The VCF output carries every column of the TSV (issue 27, point 3: "TSV, JSON, VCF and the
API carry the same columns"): allele x transcript columns as CSQ subfields (the new ones
appended after the 24 of earlier versions), sample columns as FORMAT fields, site columns
in the fixed columns or the header; and the values read back through pysam and
``bcftools +split-vep`` are the TSV's."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pysam
import pytest
from conftest import TEST_FASTA, write_vcf

from nlrp3annot.cli import main
from nlrp3annot.io.vcf_columns import CSQ_FIELDS, RENAMED, SAMPLE_READING, vcf_place

FASTA = str(TEST_FASTA["GRCh38"])
EXAMPLE = Path(__file__).parent / "data" / "example_patient_GRCh38.vcf"
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="no bcftools")
# the 24 CSQ subfields of earlier versions, by position (VEP's names), as readers know them
EARLIER_CSQ = [
    "Allele", "Consequence", "IMPACT", "SYMBOL", "Gene", "Feature", "EXON", "INTRON", "HGVSc",
    "HGVSp", "Protein_position", "Amino_acids", "Codons", "DOMAINS", "Feature_type", "BIOTYPE",
    "CDS_position", "HGVSg", "MANE_SELECT", "CANONICAL", "ENSEMBL_TRANSCRIPT", "LEGACY_EXON",
    "UNIPROT_POSITION", "REF_MISMATCH",
]  # fmt: skip


def _annotate(source: Path, output: Path) -> None:
    assert main(["annotate", str(source), "--fasta", FASTA, "-o", str(output), "-q"]) == 0


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[list[dict], Path]:
    folder = tmp_path_factory.mktemp("columns")
    _annotate(EXAMPLE, folder / "calls.tsv")
    _annotate(EXAMPLE, folder / "calls.vcf.gz")
    with (folder / "calls.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return rows, folder / "calls.vcf.gz"


def _csq_names(header) -> list[str]:
    return header.info["CSQ"].description.split("Format: ")[1].split("|")


def _declared(vcf: Path, kind: str, name: str) -> bool:
    with pysam.VariantFile(str(vcf)) as handle:
        header = handle.header
        if kind == "CSQ":
            return name in _csq_names(header)
        if kind == "FORMAT":
            return name in header.formats
        if kind == "INFO":
            return name in header.info
        if kind == "HEADER":
            return any(rec.key == name for rec in header.records)
        if kind == "SAMPLE":
            return len(header.samples) > 0
        return kind in ("CHROM", "POS", "ID", "REF", "ALT", "FILTER")  # fixed columns


def test_every_tsv_column_is_a_declared_field_of_the_vcf(outputs, tmp_path):
    rows, vcf = outputs
    columns = list(rows[0])  # the TSV's header
    assert len(columns) == 60
    for column in columns:
        kind, name = vcf_place(column, has_samples=True)
        assert _declared(vcf, kind, name), (column, kind, name)
    # the explicit mapping names only columns of the TSV
    assert set(RENAMED) | set(SAMPLE_READING) <= set(columns)
    # the 24 subfields of earlier versions keep their places; the new ones follow
    with pysam.VariantFile(str(vcf)) as handle:
        names = _csq_names(handle.header)
    assert names[:24] == EARLIER_CSQ == [name for name, _ in CSQ_FIELDS]
    assert {"LEGACY_PROTEIN", "SPDI", "NORM_POS", "CONDITIONS", "PENETRANCE"} <= set(names[24:])
    # a VCF without samples: every column of its TSV is in CSQ, INFO or the fixed columns
    sites = write_vcf(tmp_path / "sites.vcf", [("chr1", 247424227, "C", "T")])
    _annotate(sites, tmp_path / "sites.tsv")
    _annotate(sites, tmp_path / "out.vcf")
    with (tmp_path / "sites.tsv").open() as handle:
        site_columns = next(csv.reader(handle, delimiter="\t"))
    for column in site_columns:
        kind, name = vcf_place(column, has_samples=False)
        assert kind != "FORMAT" and _declared(tmp_path / "out.vcf", kind, name), column


def _vcf_value(rec, header_lines: dict, sample: str, transcript: str, column: str) -> object:
    """The TSV column's value as the VCF record gives it, undone of the VCF's encoding by the
    rules the CSQ/FORMAT descriptions state."""
    kind, name = vcf_place(column, has_samples=True)
    at = rec.alts.index(rec.alts[0])  # (one ALT per record in the example)
    if kind == "HEADER":
        return header_lines[name]
    if kind == "ID":
        return rec.id or "."  # the TSV writes the VCF's own '.'
    if kind in ("CHROM", "POS", "REF"):
        return str(getattr(rec, {"CHROM": "chrom", "POS": "pos", "REF": "ref"}[kind]))
    if kind == "ALT":
        return rec.alts[at]
    if kind == "FILTER":
        return ";".join(rec.filter.keys())
    if kind == "SAMPLE":
        return sample
    if kind == "CSQ":
        names = _csq_names(rec.header)
        entry = next(e.split("|") for e in rec.info["CSQ"] if e.split("|")[5] == transcript)
        text = entry[names.index(name)]
        if name == "REF_MISMATCH":
            return str(text == "1")
        return unquote(text) if names.index(name) >= 24 else text
    call = rec.samples[sample]
    if name == "GT":
        return ("|" if call.phased else "/").join(str(a) for a in call["GT"])
    if name == "AD":
        return f"{call['AD'][0]},{call['AD'][at + 1]}"
    value = call[name]
    value = value[at] if isinstance(value, tuple) else value
    if name == "NLRP3_HGVSP":  # the protein accession is in the header
        return f"{rec.info['CSQ'][0].split('|')[_csq_names(rec.header).index('PROTEIN_ID')]}:" \
               f"{unquote(value)}"  # fmt: skip
    if name == "NLRP3_CLNSIG":
        return unquote(value).replace("_", " ")
    if value is None or value == ".":  # VCF's missing value: the TSV's empty cell
        return ""
    return value if isinstance(value, (int, float)) else unquote(value)


def _same(vcf_value: object, tsv_value: str) -> bool:
    if isinstance(vcf_value, float):  # Type=Float is a 32-bit float in BCF/pysam
        return vcf_value == pytest.approx(float(tsv_value), rel=1e-6)
    return str(vcf_value) == tsv_value


def test_the_r260w_carrier_and_the_mosaic_read_back_as_the_tsv_says(outputs):
    rows, vcf = outputs
    by_pos = {int(row["pos"]): row for row in rows}
    # independent anchors: ClinVar 4374 is c.778C>T; R260W is the legacy (MANE) name of the
    # haplotype's p.Arg260Trp; 20 of 200 reads is 0.1 (the example's AD)
    assert by_pos[247424227]["clinvar_id"] == "4374"
    assert by_pos[247424227]["legacy_protein_sample"] == "R260W"
    assert by_pos[247424356]["zygosity"] == "mosaic" and float(by_pos[247424356]["vaf"]) == 0.1
    with pysam.VariantFile(str(vcf)) as handle:
        header_lines = {rec.key: rec.value for rec in handle.header.records if rec.value}
        records = {rec.pos: rec for rec in handle}
    for pos in (247424227, 247424356):
        row, rec = by_pos[pos], records[pos]
        for column, expected in row.items():
            got = _vcf_value(rec, header_lines, row["sample"], row["transcript"], column)
            assert _same(got, expected), (pos, column, got, expected)
    r260 = records[247424227].samples["PATIENT01"]
    assert r260["NLRP3_LEGACY_PROTEIN_SAMPLE"] == ("R260W",)
    assert unquote(r260["NLRP3_CAPS_PHENOTYPE"][0]) == by_pos[247424227]["caps_phenotype"]


@needs_bcftools
def test_bcftools_accepts_the_file_and_split_vep_reads_the_new_subfields(outputs):
    rows, vcf = outputs
    subprocess.run(["bcftools", "view", "-o", "/dev/null", str(vcf)], check=True)
    listed = subprocess.run(["bcftools", "plugin", "-l"], capture_output=True, text=True)
    if "split-vep" not in listed.stdout:
        pytest.skip("no bcftools +split-vep")
    fields = ["LEGACY_PROTEIN", "SPDI", "NORM_POS", "CLINVAR_ID", "CONDITIONS", "HGVSp"]
    fmt = "%POS\t" + "\t".join(f"%{name}" for name in fields) + "\n"
    out = subprocess.run(["bcftools", "+split-vep", "-d", "-f", fmt, str(vcf)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    got = {int(line.split("\t")[0]): line.split("\t")[1:] for line in out.splitlines()}
    columns = ["legacy_protein", "spdi", "norm_pos", "clinvar_id", "conditions", "hgvs_p"]
    for pos in (247424227, 247424356):
        row = next(r for r in rows if int(r["pos"]) == pos)
        values = [
            unquote(v) if name != "HGVSp" else v for name, v in zip(fields, got[pos], strict=True)
        ]
        assert values == [row[c] or "." for c in columns]


@pytest.mark.parametrize(
    "text", ["a;b=c,d|e f%g:h", "protein change of ClinVar's c.778_780delinsTGG", "FCAS;MWS"]
)
def test_the_added_values_are_percent_encoded_and_decode_back(text):
    from nlrp3annot.io.vcf_columns import percent_encoded
    from nlrp3annot.io.vcf_findings import _added_encoded

    for encoded in (percent_encoded(text), _added_encoded(text)):
        assert not set(";=, ") & set(encoded)
        assert unquote(encoded) == text
    assert "|" not in percent_encoded(text) and ":" not in _added_encoded(text)


@pytest.mark.parametrize("odd", ["a|b,c;d=e f", "x%y\tz", "nul\x00here", "None", "plain"])
def test_a_csq_entry_escapes_every_subfield_on_its_own(odd):
    """Each subfield of an entry is escaped as if alone (the entry is escaped in one pass
    over the joined text: a value holding the joining NUL must not shift the others)."""
    from dataclasses import replace

    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.genome.sequence import read_fasta_locus
    from nlrp3annot.io.vcf_columns import csq_entry
    from nlrp3annot.naming.annotator import Annotator
    from nlrp3annot.values import Variant

    seq = read_fasta_locus(FASTA, "GRCh38")
    t = mane_transcript("GRCh38")
    plain = Annotator([t], seq).annotate(Variant("chr1", t.cds_start + 60, "N", "T"))[0]
    row = replace(plain, hgvs_c=odd, domain=odd, note=odd, legacy_protein=odd)
    known = {"conditions": odd, "clinvar_id": None}
    fields = csq_entry(row, known).split("|")
    assert len(fields) == len(EARLIER_CSQ) + 16  # (a "|" in a value is always escaped)
    # by hand: VEP's own convention in the first 24, percent-encoding after them
    vep = odd.replace("|", "&").replace(",", "&").replace(";", "&").replace("=", "%3D")
    vep = vep.replace(" ", "_")
    pct = "" if odd == "None" else "".join(
        {"%": "%25", ";": "%3B", "=": "%3D", ",": "%2C", "|": "%7C", " ": "%20", "\t": "%09"}
        .get(c, c) for c in odd
    )  # fmt: skip
    assert fields[EARLIER_CSQ.index("HGVSc")] == vep
    assert fields[EARLIER_CSQ.index("DOMAINS")] == vep
    assert fields[len(EARLIER_CSQ)] == pct  # LEGACY_PROTEIN, the first appended
    assert fields[len(EARLIER_CSQ) + 8] == pct  # NOTE
    assert fields[len(EARLIER_CSQ) + 12] == pct  # CONDITIONS
    assert fields[len(EARLIER_CSQ) + 9] == ""  # CLINVAR_ID: None is empty
    assert fields[EARLIER_CSQ.index("SYMBOL")] == "NLRP3"


def test_each_record_carries_only_its_own_alleles_consequences(tmp_path: Path) -> None:
    """Split multi-allelic lines share a site: R260W's c.778C>T (ClinVar 4374) and c.778C>G
    on two lines, and a multi-allelic T>C,G line. Each record's CSQ entries name only the
    record's own ALT alleles (VEP's Allele subfield; the record's ALTs are read back by
    htslib), every ALT has its entries, and the C>G line does not carry R260W's ClinVar ID:
    a filter on CSQ must not find one record's pathogenic consequence on another's line."""
    source = write_vcf(
        tmp_path / "split.vcf",
        [
            ("chr1", 247424227, "C", "T"),
            ("chr1", 247424227, "C", "G"),
            ("chr1", 247424375, "T", "C,G"),
        ],
    )
    out = tmp_path / "split.out.vcf"
    _annotate(source, out)
    with pysam.VariantFile(str(out)) as handle:
        names = _csq_names(handle.header)
        allele, clinvar = names.index("Allele"), names.index("CLINVAR_ID")
        seen = []
        for record in handle:
            entries = [entry.split("|") for entry in record.info["CSQ"]]
            assert {e[allele] for e in entries} == set(record.alts), (record.pos, record.alts)
            seen.append((record.alts, {e[clinvar] for e in entries}))
    by_alts = dict(seen)
    assert "4374" in by_alts[("T",)]
    assert "4374" not in by_alts[("G",)]
    assert len(seen) == 3
