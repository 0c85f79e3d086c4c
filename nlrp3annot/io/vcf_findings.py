"""The tool's findings inside an annotated VCF, beside INFO/CSQ: per allele, ClinVar's record
(INFO); per sample, its own protein change (read on its haplotype: p.Arg260Trp where c.778T
sits with c.780G), its zygosity or mosaic call, the allele fraction with its interval, the
ClinVar significance of that change and the sample's status (FORMAT); and one
``##nlrp3annot`` header line per run that wrote the file (earlier ones kept, in order, as
bcftools keeps its ``##bcftools_viewCommand`` lines).

The sample's own change is written on the record that makes it (:func:`alleles_making_the_change`):
for a c.[778C>T;780A>G] carrier the c.778 record says p.Arg260Trp, Pathogenic, and the c.780A>G
record, which only restores the common base where the reference carries the minor one, keeps
its own reading and class (p.Arg260=, Benign), so that no filter reads a homozygous benign
allele as a homozygous pathogenic one. Every per-allele value is '.' where the sample does not
carry the allele, but NLRP3_ZYG, which says ``missing`` for a genotype with no call.

Values follow VCF 4.3's rules for strings: the characters with a meaning in a record
(``: ; = , %``) are percent-encoded and spaces become ``_``, as ClinVar's own VCF writes
``Likely_pathogenic``. Everything here is pure: rows in, bytes out.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from nlrp3annot.values import CARRYING, Annotation

Allele = tuple[str, int, str, str]  # chrom, pos, ref, alt as the record writes them
Item = TypeVar("Item", bound=Hashable)

# (ID, Number, Type, Description); FORMAT values per ALT allele unless Number=1.
INFO_FIELDS = (
    ("NLRP3_CLNID", "A", "String", "ClinVar VariationID of the allele (bundled ClinVar table)"),
    ("NLRP3_CLNSIG", "A", "String", "ClinVar clinical significance of the allele"),
    ("NLRP3_CLNREVSTAT", "A", "String", "ClinVar review status of the allele"),
)
FORMAT_FIELDS = (
    ("NLRP3_HGVSP", "A", "String", "the sample's own protein change on {protein}, read on its "
     "haplotype with the other variants in the same codon, on the record that makes the change "
     "(c.778C>T with c.780G: p.Arg260Trp); a partner that does not make it (as c.780A>G, the "
     "common base where the reference carries the minor one) has its own reading; '.' where "
     "the sample does not carry the allele"),
    ("NLRP3_ZYG", "A", "String", "the sample's zygosity or mosaic call for the allele: het, "
     "hom_alt, hemi or mosaic where it carries the allele; missing where its genotype is a "
     "no-call; '.' where it was called and does not carry the allele"),
    ("NLRP3_VAF", "A", "Float", "the allele's fraction of the sample's reads; '.' where the "
     "sample does not carry the allele"),
    ("NLRP3_VAF_LO", "A", "Float", "lower end of the allele fraction's 95% interval "
     "(Clopper-Pearson); '.' where the sample does not carry the allele"),
    ("NLRP3_VAF_HI", "A", "Float", "upper end of the allele fraction's 95% interval; '.' "
     "where the sample does not carry the allele"),
    ("NLRP3_CLNSIG", "A", "String", "ClinVar significance of NLRP3_HGVSP: the class of the "
     "sample's own change on the record that makes it, the allele's own class on a partner "
     "that does not; '.' where the sample does not carry the allele"),
    ("NLRP3_STATUS", "1", "String", "the sample's NLRP3 status, as in the patients table "
     "(positive_germline, positive_mosaic, vus_only, negative, not_assessable)"),
)  # fmt: skip
# Added after them, each the TSV's sample column of the same name (upper case) on the record's
# transcript that decides the status; '.' where the sample does not carry the allele. Values
# are percent-encoded (%3A %3B %3D %2C %20 %25: ADDED_ENCODING) so that they read back as the
# TSV's text exactly. On a partner that does not make the change (c.780A>G above) the
# sample's reading of the change gives way to the allele's own, as NLRP3_HGVSP does.
ADDED_FORMAT = (
    ("NLRP3_MOSAIC_P", "Float", "mosaic_p", "P of the one-sided exact binomial test of the "
     "allele's reads against a fraction of 0.5 (low: fewer than a germline allele gives)"),
    ("NLRP3_MOSAIC_TEST", "String", "mosaic_test", "the mosaic test's verdict"),
    ("NLRP3_EVIDENCE", "String", "evidence", "what the call rests on, where it needs saying"),
    ("NLRP3_PHASE", "String", "phase", "cis, trans or phase_unknown when another variant of the "
     "sample shares the codon"),
    ("NLRP3_HGVS_C_SAMPLE", "String", "hgvs_c_sample", "the sample's own coding change, with "
     "the other variants in the same codon"),
    ("NLRP3_HGVS_P_SAMPLE_ALT", "String", "hgvs_p_sample_alt", "the sample's protein change "
     "were its variants of the codon in trans (phase_unknown)"),
    ("NLRP3_LEGACY_PROTEIN_SAMPLE", "String", "legacy_protein_sample", "the legacy (one-letter, "
     "MANE-numbered) name of the sample's own protein change"),
    ("NLRP3_CLINVAR_ID_SAMPLE", "String", "clinvar_id_sample", "ClinVar VariationID of the "
     "sample's own change"),
    ("NLRP3_CLINVAR_MATCH", "String", "clinvar_match", "how the sample's own change was matched "
     "to ClinVar"),
    ("NLRP3_CAPS_PHENOTYPE", "String", "caps_phenotype", "CAPS phenotypes reported for the "
     "sample's own change"),
    ("NLRP3_PENETRANCE", "String", "penetrance", "penetrance reported for the sample's own "
     "change"),
)  # fmt: skip
# a partner's own reading, from its site row, in place of the sample's
_PARTNER_OWN = {"legacy_protein_sample": "legacy_protein", "clinvar_id_sample": "clinvar_id",
                "clinvar_match": "clinvar_match", "caps_phenotype": "caps_phenotype",
                "penetrance": "penetrance", "hgvs_p_sample_alt": None}  # fmt: skip
_ADDED_COLUMNS = [column for _, _, column, _ in ADDED_FORMAT]
_ADDED_ENCODE = str.maketrans(
    {"%": "%25", ":": "%3A", ";": "%3B", "=": "%3D", ",": "%2C", " ": "%20", "\t": "%09",
     "\n": "%0A", "\r": "%0D"}
)  # fmt: skip
_FORMAT_IDS = [name for name, *_ in FORMAT_FIELDS] + [name for name, *_ in ADDED_FORMAT]
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
    # (allele, sample): carried in a codon with others, but not the allele making the change
    partners: frozenset[tuple[Allele, str]] = frozenset()
    # (allele, transcript) -> its known-variant columns read without a sample (CSQ's)
    transcripts: Mapping[tuple[Allele, str], Mapping[str, object]] = field(default_factory=dict)


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


def is_benign(significance: object) -> bool:
    """ClinVar's Benign, Likely benign or Benign/Likely benign (as written or VCF-encoded)."""
    text = str(significance or "").lower().replace("_", " ").split(";")[0].strip()
    return bool(text) and all(part in ("benign", "likely benign") for part in text.split("/"))


def alleles_making_the_change(
    alleles: Sequence[Item],
    common_at_minor_site: Callable[[Item], bool],
    site_class: Callable[[Item], object],
) -> list[Item]:
    """Of the ``alleles`` that together give a sample's own codon, those that make its protein
    change, which its finding belongs on: all but the population-common allele at a site where
    the reference carries the minor one (c.780A>G in R260W's c.[778C>T;780A>G]: the patient's
    c.780G is what almost everyone has, c.778T is the change); when no allele is such a site
    (or all are), those whose own ClinVar class is not benign; else all of them."""
    makers = [a for a in alleles if not common_at_minor_site(a)]
    if makers and len(makers) < len(alleles):
        return makers
    return [a for a in alleles if not is_benign(site_class(a))] or list(alleles)


def findings_of(
    annotations: list[Annotation],
    table: Iterable[Mapping],
    patients: Iterable[Mapping],
    site_values: Callable[[Annotation], Mapping[str, object]],
    header: str,
    common_at_minor_site: Callable[[Annotation], bool] = lambda row: False,
) -> Findings:
    """The findings of one file's result: ``site_values(row)`` gives an allele's known-variant
    columns and ``common_at_minor_site(row)`` says whether it is the population-common allele
    where the reference carries the minor one (both looked up by the caller, so io needs no
    knowledge table)."""
    primary = primary_rows(annotations)
    transcripts = {
        ((row.chrom, row.pos, row.ref, row.alt), row.transcript): site_values(row)
        for row in annotations
    }
    sites = {key: transcripts[(key, row.transcript)] for key, row in primary.items()}
    calls: dict[tuple[Allele, str], Mapping[str, object]] = {}
    codons: dict[tuple[str, str], list[Allele]] = {}  # (sample, own c. change) -> its alleles
    for row in table:
        if "sample" not in row:
            continue
        key = (str(row["chrom"]), int(row["pos"]), str(row["ref"]), str(row["alt"]))
        if key in primary and primary[key].transcript == row["transcript"]:
            sample = str(row["sample"])
            calls[(key, sample)] = row
            own = row.get("hgvs_c_sample")
            if own and own != row.get("hgvs_c") and row.get("zygosity") in CARRYING:
                codons.setdefault((sample, str(own)), []).append(key)
    partners = set()
    for (sample, _), alleles in codons.items():
        makers = alleles_making_the_change(
            alleles,
            lambda a: common_at_minor_site(primary[a]),
            lambda a: sites[a].get("clinvar_significance"),
        )
        partners.update((a, sample) for a in alleles if a not in makers)
    status = {str(p["sample"]): str(p["status"]) for p in patients}
    proteins = sorted({row.protein_id for row in primary.values() if row.protein_id})
    protein = ", ".join(proteins) or "the annotated protein"
    return Findings(sites, calls, status, protein, header, frozenset(partners), transcripts)


def header_lines(findings: Findings, has_samples: bool) -> list[bytes]:
    lines = [findings.header]
    for name, number, kind, text in INFO_FIELDS:
        lines.append(f'##INFO=<ID={name},Number={number},Type={kind},Description="{text}">')
    if has_samples:
        for name, number, kind, text in FORMAT_FIELDS:
            text = text.format(protein=findings.protein)
            lines.append(f'##FORMAT=<ID={name},Number={number},Type={kind},Description="{text}">')
        for name, kind, column, text in ADDED_FORMAT:
            text = f"{text} (the TSV's {column}, percent-encoded; '.' where not carried)"
            lines.append(f'##FORMAT=<ID={name},Number=A,Type={kind},Description="{text}">')
    return [line.encode() for line in lines]


def is_ours(header_line: bytes) -> bool:
    """A field definition this module writes (replaced when a VCF of ours is annotated again;
    the ``##nlrp3annot`` lines before are history, and stay)."""
    return any(
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
    status = encode(findings.status.get(sample))
    if all(row is None for row in rows):  # most samples at most records of a joint VCF
        nothing = ",".join(["."] * len(alleles))
        return [nothing] * len(FORMAT_FIELDS[:-1]) + [status] + [nothing] * len(ADDED_FORMAT)
    # a no-call genotype is one for every allele of the record, <NON_REF> included
    no_call = any(row is not None and row.get("zygosity") == "missing" for row in rows)
    columns: list[list[str]] = [[] for _ in range(len(_FORMAT_IDS) - 1)]
    for allele, row in zip(alleles, rows, strict=True):
        if row is None or row.get("zygosity") not in CARRYING:
            values = ["."] * len(columns)
            values[1] = "missing" if no_call else "."
        else:
            added = {column: row.get(column) for column in _ADDED_COLUMNS}
            if (allele, sample) in findings.partners:  # its own reading and class
                site = findings.sites.get(allele) or {}
                own, significance = row.get("hgvs_p"), site.get("clinvar_significance")
                for column, own_column in _PARTNER_OWN.items():
                    added[column] = row.get(own_column) if own_column else None
                    if own_column in site:  # the known-variant columns read without a sample
                        added[column] = site[own_column]
            else:
                own, significance = row.get("hgvs_p_sample"), row.get("clinvar_significance_sample")
            own = str(own).rpartition(":")[2] if own else own  # the accession is in the header
            values = [
                encode(value)
                for value in (
                    own,
                    row.get("zygosity"),
                    row.get("vaf"),
                    row.get("vaf_ci_low"),
                    row.get("vaf_ci_high"),
                    significance,
                )
            ]
            values += [_added_encoded(added[column]) for column in _ADDED_COLUMNS]
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    texts = [",".join(column) for column in columns]
    first = len(FORMAT_FIELDS) - 1
    return [*texts[:first], status, *texts[first:]]


def _added_encoded(value: object) -> str:
    """A value of an ADDED_FORMAT field: '.' when empty, else the TSV's text percent-encoded."""
    text = "" if value is None else str(value)
    if text in ("", "nan", "None"):
        return "."
    return text.translate(_ADDED_ENCODE)
