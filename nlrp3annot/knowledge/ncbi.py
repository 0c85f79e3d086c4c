"""Read NCBI's own ClinVar files: the VCF (``clinvar.vcf.gz``, GRCh38 or GRCh37) and
``variant_summary.txt(.gz)``, and turn their NLRP3 records into :class:`ClinVarRecord` rows.

Used by ``scripts/build_knowledge.py`` to build the bundled table from an NCBI release.
The reading rules follow NCBI's documentation (see reference/KNOWLEDGE.md, "Building from
NCBI's files"):

* VCF (README_VCF.txt for vcf_GRCh37/ and vcf_GRCh38/, "Last updated January 30, 2024"):
  ``ID`` is the ClinVar Variation ID; the file follows VCF 4.1, whose INFO values hold no
  white space (ClinVar writes ``_`` for a space) and use ``,`` between the values of a list;
  ``CLNSIG`` is the aggregate germline classification, multiple values separated by ``|``;
  ``CLNREVSTAT`` its review status; ``CLNDN`` the preferred disease names (``|`` between
  names); ``GENEINFO`` gene symbol:GeneID pairs separated by ``|``; ``MC`` a comma-separated
  list of ``SO id|consequence``; ``RS`` the dbSNP rs number; ``CLNHGVS`` the top-level HGVS
  expression; ``ALLELEID`` the ClinVar Allele ID. Included variants (only in a haplotype or
  genotype) have no CLNSIG/CLNDN, only the ``...INCL`` tags.
* variant_summary.txt (tab_delimited/README): one line per AlleleID and assembly, header
  ``#AlleleID``; ``Name`` is ClinVar's preferred name (``NM_001243133.2(NLRP3):c.778C>T
  (p.Arg260Ter)``), ``Start``/``Stop`` the location on ``Assembly``, ``VariationID``,
  ``NumberSubmitters``, ``LastEvaluated``, ``ReviewStatus``, ``ClinicalSignificance``.

Neither file carries the Canonical SPDI that the table is keyed by: it is worked out from the
VCF's POS/REF/ALT and the reference sequence (fully justified across repeats, as NCBI does and
as the annotator does for a patient's VCF), so building needs the GRCh38 reference.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

from nlrp3annot.knowledge.clinvar import ClinVarRecord, iso_date, parse_title

NLRP3_GENE = ("NLRP3", 114548)  # GENEINFO pair: symbol and NCBI GeneID


# ---------------------------------------------------------------- INFO values (README_VCF)


def decode(value: str) -> str:
    """A VCF 4.1 INFO text value as ClinVar means it: ``_`` stands for a space."""
    return value.replace("_", " ")


def parse_info(text: str) -> dict[str, str]:
    """``KEY=value`` pairs of an INFO column (a flag gets ""); ``.`` is no INFO."""
    out: dict[str, str] = {}
    if text in ("", "."):
        return out
    for item in text.split(";"):
        key, _, value = item.partition("=")
        out[key] = value
    return out


def classifications(value: str) -> list[str]:
    """CLNSIG: the aggregate germline classification; multiple values separated by ``|``."""
    return [decode(v) for v in value.split("|") if v] if value else []


def disease_names(value: str) -> list[str]:
    """CLNDN: ClinVar's preferred disease names, ``|`` between names."""
    return [decode(v) for v in value.split("|") if v] if value else []


def gene_info(value: str) -> list[tuple[str, int]]:
    """GENEINFO: ``symbol:GeneID`` pairs delimited by ``|``."""
    pairs = []
    for pair in value.split("|") if value else []:
        symbol, _, gene_id = pair.rpartition(":")
        if symbol and gene_id.isdigit():
            pairs.append((symbol, int(gene_id)))
    return pairs


def consequences(value: str) -> list[tuple[str, str]]:
    """MC: a comma-separated list of ``SO id|molecular consequence``."""
    out = []
    for item in value.split(",") if value else []:
        so_id, _, term = item.partition("|")
        out.append((so_id, term))
    return out


def rs_ids(value: str) -> list[str]:
    """RS: dbSNP rs numbers (the number only in the file), as ``rs…``."""
    return [f"rs{v}" for v in value.split(",") if v.isdigit()] if value else []


@dataclass(frozen=True)
class VcfRecord:
    """One row of NCBI's ClinVar VCF, INFO decoded."""

    variation_id: int
    chrom: str
    pos: int
    ref: str
    alt: str
    allele_id: int | None
    significance: tuple[str, ...]  # CLNSIG values; () for an included-only variant
    review_status: str
    conditions: tuple[str, ...]
    hgvs_g: str
    genes: tuple[tuple[str, int], ...]
    consequences: tuple[tuple[str, str], ...]
    dbsnp: tuple[str, ...]


@dataclass
class ClinVarVcf:
    """The header facts and the records of one ClinVar VCF."""

    file_date: str = ""  # ##fileDate, the release
    reference: str = ""  # ##reference, GRCh37 or GRCh38
    records: list[VcfRecord] = field(default_factory=list)


def _open_text(path: Path) -> io.TextIOBase:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":  # gzip or bgzip
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def vcf_record(line: str) -> VcfRecord:
    """One data line of a ClinVar VCF; ValueError when it is not one."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) < 8:
        raise ValueError(f"{len(fields)} columns, expected 8")
    chrom, pos, vid, ref, alt, _qual, _filter, info_text = fields[:8]
    info = parse_info(info_text)
    allele = info.get("ALLELEID", "")
    return VcfRecord(
        variation_id=int(vid),
        chrom=chrom,
        pos=int(pos),
        ref=ref.upper(),
        alt="" if alt == "." else alt.upper(),
        allele_id=int(allele) if allele.isdigit() else None,
        significance=tuple(classifications(info.get("CLNSIG", ""))),
        review_status=decode(info.get("CLNREVSTAT", "")),
        conditions=tuple(disease_names(info.get("CLNDN", ""))),
        hgvs_g=info.get("CLNHGVS", ""),
        genes=tuple(gene_info(info.get("GENEINFO", ""))),
        consequences=tuple(consequences(info.get("MC", ""))),
        dbsnp=tuple(rs_ids(info.get("RS", ""))),
    )


def read_clinvar_vcf(path: Path, gene: tuple[str, int] = NLRP3_GENE) -> ClinVarVcf:
    """The header facts and the records of ``gene`` (by GENEINFO) in a ClinVar VCF."""
    out = ClinVarVcf()
    with _open_text(Path(path)) as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("##"):
                key, _, value = line[2:].strip().partition("=")
                if key == "fileDate":
                    out.file_date = value
                elif key == "reference":
                    out.reference = value
                continue
            if line.startswith("#") or not line.strip():
                continue
            if gene[0] not in line:  # cheap pre-filter: the symbol is in GENEINFO
                continue
            try:
                record = vcf_record(line)
            except ValueError as exc:
                raise ValueError(f"{path}: line {number}: {exc}") from None
            if gene in record.genes:
                out.records.append(record)
    return out


# ---------------------------------------------------------------- variant_summary


SUMMARY_NEEDED = (
    "#AlleleID",
    "Name",
    "ClinicalSignificance",
    "LastEvaluated",
    "ReviewStatus",
    "NumberSubmitters",
    "Assembly",
    "Start",
    "Stop",
    "VariationID",
)


@dataclass
class SummaryRecord:
    """What variant_summary says of one VariationID (both assemblies merged)."""

    variation_id: int
    name: str
    last_evaluated: str  # ISO date or ""
    submitters: int | None
    locations: dict[str, str] = field(default_factory=dict)  # assembly -> start or start-stop


def read_variant_summary(path: Path, transcript_prefix: str) -> dict[int, SummaryRecord]:
    """Rows of variant_summary whose Name starts with ``transcript_prefix``
    (e.g. ``NM_001243133.2(NLRP3):``), by VariationID."""
    out: dict[int, SummaryRecord] = {}
    with _open_text(Path(path)) as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file")
        missing = [c for c in SUMMARY_NEEDED if c not in header]
        if missing:
            raise ValueError(f"{path}: not a variant_summary file (no columns {missing})")
        col = {name: i for i, name in enumerate(header)}
        for row in reader:
            if len(row) < len(header) or not row[col["Name"]].startswith(transcript_prefix):
                continue
            vid = int(row[col["VariationID"]])
            entry = out.get(vid)
            if entry is None:
                submitters = row[col["NumberSubmitters"]]
                entry = out[vid] = SummaryRecord(
                    variation_id=vid,
                    name=row[col["Name"]],
                    last_evaluated=iso_date(row[col["LastEvaluated"]]),
                    submitters=int(submitters) if submitters.isdigit() else None,
                )
            start, stop = row[col["Start"]], row[col["Stop"]]
            if start.isdigit():
                entry.locations[row[col["Assembly"]]] = (
                    start if stop in ("", "-1", start) else f"{start}-{stop}"
                )
    return out


# ---------------------------------------------------------------- records for the table


def canonical_spdi(pos: int, ref: str, alt: str, seq) -> tuple[int, str, str]:
    """NCBI's Canonical SPDI (0-based position, fully justified alleles) of a VCF allele on
    the GRCh38 locus ``seq``: trim the shared bases, then extend a pure insertion or
    deletion across the whole repeat (the same normalisation the annotator applies)."""
    from nlrp3annot.naming.annotator import canonical_spdi as spdi_text
    from nlrp3annot.naming.variant import shift_3prime, shift_5prime, trim

    edit = trim(pos, ref, alt)
    left = shift_5prime(edit, seq, seq.start + 1)
    right = shift_3prime(edit, seq, seq.end - 1)
    _, p, deleted, inserted = spdi_text("NC_000001.11", left, right, seq).split(":")
    return int(p), deleted, inserted


def build_records(
    vcf: ClinVarVcf, summary: dict[int, SummaryRecord], seq
) -> tuple[list[ClinVarRecord], dict[str, int]]:
    """Table rows for the VCF's records that variant_summary names on the transcript.

    ``seq`` is the GRCh38 locus (:class:`nlrp3annot.genome.sequence.LocusSequence`)."""
    skipped = {"not named on NM_001243133.2": 0, "no change": 0, "REF not the reference": 0}
    records = []
    for r in vcf.records:
        entry = summary.get(r.variation_id)
        names = parse_title(entry.name) if entry else None
        if names is None:
            skipped["not named on NM_001243133.2"] += 1
            continue
        if not r.alt or r.alt == r.ref:  # ALT "." or REF again: ClinVar's "c.780=" kind
            skipped["no change"] += 1
            continue
        if not seq.start < r.pos < seq.end or seq.get(r.pos, r.pos + len(r.ref) - 1) != r.ref:
            skipped["REF not the reference"] += 1  # a wrong FASTA or build: the caller stops
            continue
        spdi = canonical_spdi(r.pos, r.ref, r.alt, seq)
        if spdi[1] == spdi[2]:
            skipped["no change"] += 1
            continue
        records.append(
            ClinVarRecord(
                variation_id=r.variation_id,
                hgvs_c=names[0],
                hgvs_p=names[1],
                significance="; ".join(r.significance),
                review_status=r.review_status,
                conditions="|".join(r.conditions),
                dbsnp=r.dbsnp[0] if r.dbsnp else "",
                spdi=spdi,
                grch38_location=entry.locations.get("GRCh38", ""),
                grch37_location=entry.locations.get("GRCh37", ""),
                last_evaluated=entry.last_evaluated,
            )
        )
    return records, skipped
