"""The tool's findings inside an annotated VCF, beside INFO/CSQ: per allele, ClinVar's record
(INFO); per sample, its own protein change (read on its haplotype: p.Arg260Trp where c.778T
sits with c.780G), its zygosity or mosaic call, the allele fraction with its interval, the
ClinVar significance of that change and the sample's status (FORMAT); and a ``##nlrp3annot``
header line naming the version and the command.

Values follow VCF 4.3's rules for strings: the characters with a meaning in a record
(``: ; = , %``) are percent-encoded and spaces become ``_``, as ClinVar's own VCF writes
``Likely_pathogenic``. Everything here is pure: rows in, bytes out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from nlrp3annot.values import Annotation

Allele = tuple[str, int, str, str]  # chrom, pos, ref, alt as the record writes them

# (ID, Number, Type, Description); FORMAT values per ALT allele unless Number=1.
INFO_FIELDS = (
    ("NLRP3_CLNID", "A", "String", "ClinVar VariationID of the allele (bundled ClinVar table)"),
    ("NLRP3_CLNSIG", "A", "String", "ClinVar clinical significance of the allele"),
    ("NLRP3_CLNREVSTAT", "A", "String", "ClinVar review status of the allele"),
)
FORMAT_FIELDS = (
    ("NLRP3_HGVSP", "A", "String", "the sample's own protein change on {protein}, read on its "
     "haplotype (other variants in the same codons included); '.' where not carried"),
    ("NLRP3_ZYG", "A", "String", "zygosity or mosaic call of the sample for the allele "
     "(het, hom_alt, hemi, mosaic, ...)"),
    ("NLRP3_VAF", "A", "Float", "the allele's fraction of the sample's reads"),
    ("NLRP3_VAF_LO", "A", "Float", "lower end of the allele fraction's 95% interval "
     "(Clopper-Pearson)"),
    ("NLRP3_VAF_HI", "A", "Float", "upper end of the allele fraction's 95% interval"),
    ("NLRP3_CLNSIG", "A", "String", "ClinVar significance of the sample's own protein change"),
    ("NLRP3_STATUS", "1", "String", "the sample's NLRP3 status (positive_germline, "
     "positive_mosaic, vus_only, negative, not_assessable)"),
)  # fmt: skip
_FORMAT_IDS = [name for name, *_ in FORMAT_FIELDS]
_INFO_IDS = [name for name, *_ in INFO_FIELDS]
_ENCODE = {"%": "%25", ":": "%3A", ";": "%3B", "=": "%3D", ",": "%2C", " ": "_"}


@dataclass(frozen=True)
class Findings:
    """What goes into the VCF besides CSQ, keyed by allele (and sample)."""

    sites: Mapping[Allele, Mapping[str, object]]  # clinvar_id, clinvar_significance, ...
    calls: Mapping[tuple[Allele, str], Mapping[str, object]]  # (allele, sample) -> columns
    status: Mapping[str, str]  # sample -> status
    protein: str  # the protein the sample's own changes are named on
    header: str  # the ##nlrp3annot line


def encode(value: object) -> str:
    """A VCF string value: empty as '.', reserved characters percent-encoded."""
    text = "" if value is None else str(value)
    if text in ("", "nan", "None"):
        return "."
    return "".join(_ENCODE.get(c, c) for c in text)


def provenance_line(version: str, command: list[str]) -> str:
    """``##nlrp3annot=<Version="...",CommandLine="...">`` (no date: the same run, the same
    bytes)."""
    import shlex

    line = " ".join(shlex.quote(part) for part in command).replace('"', "'")
    return f'##nlrp3annot=<Version="{version}",CommandLine="{line}">'


def primary_rows(annotations: Iterable[Annotation]) -> dict[Allele, Annotation]:
    """Per allele, the row on the transcript that decides the status: MANE Select when
    annotated, else the first."""
    chosen: dict[Allele, Annotation] = {}
    for row in annotations:
        key = (row.chrom, row.pos, row.ref, row.alt)
        if key not in chosen or (
            "MANE_Select" in row.flags and "MANE_Select" not in chosen[key].flags
        ):
            chosen[key] = row
    return chosen


def findings_of(
    annotations: list[Annotation],
    table: Iterable[Mapping],
    patients: Iterable[Mapping],
    site_values: Callable[[Annotation], Mapping[str, object]],
    header: str,
) -> Findings:
    """The findings of one file's result: ``site_values(row)`` gives an allele's known-variant
    columns (the ClinVar table, looked up by the caller, so io needs no knowledge of it)."""
    primary = primary_rows(annotations)
    sites = {key: site_values(row) for key, row in primary.items()}
    calls: dict[tuple[Allele, str], Mapping[str, object]] = {}
    for row in table:
        if "sample" not in row:
            continue
        key = (str(row["chrom"]), int(row["pos"]), str(row["ref"]), str(row["alt"]))
        if key in primary and primary[key].transcript == row["transcript"]:
            calls[(key, str(row["sample"]))] = row
    status = {str(p["sample"]): str(p["status"]) for p in patients}
    proteins = sorted({row.protein_id for row in primary.values() if row.protein_id})
    return Findings(sites, calls, status, ", ".join(proteins) or "the annotated protein", header)


def header_lines(findings: Findings, has_samples: bool) -> list[bytes]:
    lines = [findings.header]
    for name, number, kind, text in INFO_FIELDS:
        lines.append(f'##INFO=<ID={name},Number={number},Type={kind},Description="{text}">')
    if has_samples:
        for name, number, kind, text in FORMAT_FIELDS:
            text = text.format(protein=findings.protein)
            lines.append(f'##FORMAT=<ID={name},Number={number},Type={kind},Description="{text}">')
    return [line.encode() for line in lines]


def is_ours(header_line: bytes) -> bool:
    """A header line this module writes (replaced when a VCF of ours is annotated again)."""
    return header_line.startswith(b"##nlrp3annot=") or any(
        header_line.startswith(f"##{kind}=<ID={name},".encode())
        for kind, names in (("INFO", _INFO_IDS), ("FORMAT", _FORMAT_IDS))
        for name in names
    )


def _site(findings: Findings, allele: Allele, column: str) -> str:
    values = findings.sites.get(allele)
    return encode(values.get(column) if values else None)


def add_to_record(fields: list[bytes], findings: Findings, samples: list[str]) -> list[bytes]:
    """A record's fields (split on tabs) with our INFO keys and, where it has samples, our
    FORMAT keys added (any of ours already there replaced)."""
    chrom, pos, ref = fields[0].decode(), int(fields[1]), fields[3].decode()
    alleles = [(chrom, pos, ref, alt) for alt in fields[4].decode().split(",")]
    info = [
        part
        for part in (fields[7].split(b";") if fields[7] not in (b".", b"") else [])
        if part.split(b"=", 1)[0].decode() not in _INFO_IDS
    ]
    for name, column in zip(
        _INFO_IDS, ("clinvar_id", "clinvar_significance", "clinvar_review"), strict=True
    ):
        values = [_site(findings, a, column) for a in alleles]
        if any(v != "." for v in values):
            info.append(f"{name}={','.join(values)}".encode())
    fields[7] = b";".join(info) if info else b"."
    if len(fields) < 10:
        return fields
    keys = fields[8].decode().split(":")
    drop = [i for i, k in enumerate(keys) if k in _FORMAT_IDS]
    kept_keys = [k for i, k in enumerate(keys) if i not in drop]
    fields[8] = ":".join([*kept_keys, *_FORMAT_IDS]).encode()
    for column, sample in enumerate(samples, start=9):
        if column >= len(fields):
            break
        parts = fields[column].rstrip(b"\r\n").decode().split(":")
        parts += ["."] * (len(keys) - len(parts))  # trailing fields a writer may drop
        parts = [p for i, p in enumerate(parts) if i not in drop]
        fields[column] = ":".join([*parts, *_sample_values(findings, alleles, sample)]).encode()
    return fields


def _sample_values(findings: Findings, alleles: list[Allele], sample: str) -> list[str]:
    rows = [findings.calls.get((a, sample)) for a in alleles]

    def per_allele(column: str, strip_accession: bool = False) -> str:
        values = []
        for row in rows:
            value = row.get(column) if row else None
            if strip_accession and value:
                value = str(value).rpartition(":")[2]  # the accession is in the header
            values.append(encode(value))
        return ",".join(values)

    return [
        per_allele("hgvs_p_sample", strip_accession=True),
        per_allele("zygosity"),
        per_allele("vaf"),
        per_allele("vaf_ci_low"),
        per_allele("vaf_ci_high"),
        per_allele("clinvar_significance_sample"),
        encode(findings.status.get(sample)),
    ]
