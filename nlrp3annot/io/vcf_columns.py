"""The VCF output's INFO/CSQ layout, and where each column of the TSV sits in the VCF.

CSQ follows VEP's names, so that ``bcftools +split-vep`` and VEP-aware tools read it. Its
first 24 subfields are the layout of earlier versions, unchanged and in their order; the
allele x transcript columns the TSV has beyond them are appended after (:data:`ADDED_CSQ`),
so a reader that takes the subfields by position keeps working.

Escaping. The first 24 subfields keep VEP's own convention (``&`` for a list separator:
``frameshift_variant&splice_region_variant``; ``%3D`` for ``=``). The appended subfields
percent-encode every character with a meaning in a record or in CSQ, as VEP does for
``;`` and ``=``: ``%`` %25, ``;`` %3B, ``=`` %3D, ``,`` %2C, ``|`` %7C, space %20, so that
``urllib.parse.unquote`` gives back the TSV's text exactly. An empty value is an empty
subfield, as VEP writes it. Pure: rows in, text out."""

from __future__ import annotations

from collections.abc import Mapping

from nlrp3annot.values import Annotation

# The layout of earlier versions: never reordered, never removed (readers go by position).
CSQ_FIELDS = [
    ("Allele", lambda r: _vep_allele(r)),
    ("Consequence", lambda r: r.consequence),
    ("IMPACT", lambda r: r.impact),
    ("SYMBOL", lambda r: r.gene),
    ("Gene", lambda r: r.gene_id),
    ("Feature", lambda r: r.transcript),
    ("EXON", lambda r: r.exon),
    ("INTRON", lambda r: r.intron),
    ("HGVSc", lambda r: r.hgvs_c),
    ("HGVSp", lambda r: r.hgvs_p),
    ("Protein_position", lambda r: r.protein_position),
    ("Amino_acids", lambda r: r.amino_acids),
    ("Codons", lambda r: r.codons),
    ("DOMAINS", lambda r: r.domain),
    ("Feature_type", lambda r: "Transcript"),
    ("BIOTYPE", lambda r: "protein_coding"),
    ("CDS_position", lambda r: r.cds_position),
    ("HGVSg", lambda r: r.hgvs_g),
    ("MANE_SELECT", lambda r: r.transcript if "MANE_Select" in r.flags else ""),
    (
        "CANONICAL",
        lambda r: "YES" if {"MANE_Select", "Ensembl_canonical"} & set(r.flags.split(",")) else "",
    ),
    ("ENSEMBL_TRANSCRIPT", lambda r: r.ensembl_transcript),
    ("LEGACY_EXON", lambda r: r.legacy_exon),
    ("UNIPROT_POSITION", lambda r: r.uniprot_position),
    ("REF_MISMATCH", lambda r: "1" if r.ref_mismatch else ""),
]
# Appended after them: (subfield, TSV column). The annotation's own columns, then the
# known-variant columns of the allele on that transcript read without a sample (a sample's
# own reading of caps_phenotype, penetrance and clinvar_match is in FORMAT).
ADDED_CSQ = [
    ("LEGACY_PROTEIN", "legacy_protein"),
    ("SPDI", "spdi"),
    ("NORM_POS", "norm_pos"),
    ("NORM_REF", "norm_ref"),
    ("NORM_ALT", "norm_alt"),
    ("PROTEIN_ID", "protein_id"),
    ("FLAGS", "flags"),
    ("BUILD", "build"),
    ("NOTE", "note"),
    ("CLINVAR_ID", "clinvar_id"),
    ("CLINVAR_SIGNIFICANCE", "clinvar_significance"),
    ("CLINVAR_REVIEW", "clinvar_review"),
    ("CONDITIONS", "conditions"),
    ("CLINVAR_MATCH", "clinvar_match"),
    ("CAPS_PHENOTYPE", "caps_phenotype"),
    ("PENETRANCE", "penetrance"),
]
_ADDED_FROM_ROW = [column for _, column in ADDED_CSQ[:9]]
_ADDED_FROM_KNOWLEDGE = [column for _, column in ADDED_CSQ[9:]]
_PERCENT = str.maketrans(
    {"%": "%25", ";": "%3B", "=": "%3D", ",": "%2C", "|": "%7C", " ": "%20", "\t": "%09",
     "\n": "%0A", "\r": "%0D"}
)  # fmt: skip

# Where each TSV column is in the VCF, when it is not the CSQ subfield or FORMAT field of
# its own name (upper case): the fixed columns, the header, and the fields of earlier
# versions. (kind, name): kind is CHROM/POS/ID/REF/ALT/FILTER, HEADER (a ## line), SAMPLE
# (the #CHROM line's sample column), CSQ, INFO or FORMAT.
RENAMED = {
    "file": ("HEADER", "nlrp3annot_file"),
    "chrom": ("CHROM", ""),
    "pos": ("POS", ""),
    "id": ("ID", ""),
    "ref": ("REF", ""),
    "alt": ("ALT", ""),
    "filter": ("FILTER", ""),
    "sample": ("SAMPLE", ""),
    "gt": ("FORMAT", "GT"),  # the input's own genotype, AD and DP, as the TSV reads them
    "ad": ("FORMAT", "AD"),  # Number=R: the TSV's ad is REF's and this ALT's count
    "dp": ("FORMAT", "DP"),
    "zygosity": ("FORMAT", "NLRP3_ZYG"),
    "vaf": ("FORMAT", "NLRP3_VAF"),
    "vaf_ci_low": ("FORMAT", "NLRP3_VAF_LO"),
    "vaf_ci_high": ("FORMAT", "NLRP3_VAF_HI"),
    "hgvs_p_sample": ("FORMAT", "NLRP3_HGVSP"),  # without the protein accession (header)
    "clinvar_significance_sample": ("FORMAT", "NLRP3_CLNSIG"),  # spaces as '_'
    "gene": ("CSQ", "SYMBOL"),
    "gene_id": ("CSQ", "Gene"),
    "transcript": ("CSQ", "Feature"),
    "hgvs_c": ("CSQ", "HGVSc"),
    "hgvs_p": ("CSQ", "HGVSp"),
    "consequence": ("CSQ", "Consequence"),  # VEP's '&' between terms
    "cds_position": ("CSQ", "CDS_position"),
    "protein_position": ("CSQ", "Protein_position"),
    "amino_acids": ("CSQ", "Amino_acids"),
    "codons": ("CSQ", "Codons"),
    "domain": ("CSQ", "DOMAINS"),
    "hgvs_g": ("CSQ", "HGVSg"),
    "ref_mismatch": ("CSQ", "REF_MISMATCH"),  # 1 for True, empty for False
}
# Columns whose value in a table with samples is the sample's own reading: there they are
# FORMAT fields (the CSQ subfield of the same name is the reading without a sample).
SAMPLE_READING = {
    "clinvar_match": ("FORMAT", "NLRP3_CLINVAR_MATCH"),
    "caps_phenotype": ("FORMAT", "NLRP3_CAPS_PHENOTYPE"),
    "penetrance": ("FORMAT", "NLRP3_PENETRANCE"),
}

# In a table without samples the *_sample columns repeat the site's values (no sample has
# its own change there): they are the CSQ subfields of the site's.
WITHOUT_SAMPLES = {
    "clinvar_id_sample": ("CSQ", "CLINVAR_ID"),
    "clinvar_significance_sample": ("CSQ", "CLINVAR_SIGNIFICANCE"),
}


def percent_encoded(value: object) -> str:
    """An appended CSQ subfield's text: empty for a missing value, reserved characters
    percent-encoded."""
    text = "" if value is None else str(value)
    if text in ("nan", "None"):
        return ""
    return text.translate(_PERCENT)


def _vep_allele(row: Annotation) -> str:
    """VEP writes the ALT without the shared anchor base, '-' when nothing is left."""
    ref, alt = row.ref, row.alt
    if len(ref) != len(alt) and ref[:1] == alt[:1]:
        return alt[1:] or "-"
    return alt


def _csq_escape(value: str) -> str:
    # VEP's convention for its own subfields: '&' between list items, '%3D' for '='
    return (
        value.replace("|", "&")
        .replace(",", "&")
        .replace(";", "&")
        .replace("=", "%3D")
        .replace(" ", "_")
    )


def csq_entry(row: Annotation, knowledge: Mapping[str, object] | None) -> str:
    """One CSQ entry (allele x transcript): the earlier layout, then the appended subfields;
    ``knowledge``: the allele's known-variant columns on that transcript (None: unknown).

    Each part's subfields are escaped together, joined by a NUL that no escape touches
    (then the separator): one pass per part instead of one per subfield, the same text
    (a value holding a NUL itself takes the subfield-by-subfield way)."""
    first = [str(get(row)) for _, get in CSQ_FIELDS]
    joined = _NUL.join(first)
    if joined.count(_NUL) == len(first) - 1:
        escaped = _csq_escape(joined).replace(_NUL, "|")
    else:
        escaped = "|".join(_csq_escape(value) for value in first)
    known = knowledge or {}
    added = [_subfield_text(getattr(row, column)) for column in _ADDED_FROM_ROW]
    added += [_subfield_text(known.get(column)) for column in _ADDED_FROM_KNOWLEDGE]
    joined = _NUL.join(added)
    if joined.count(_NUL) == len(added) - 1:
        encoded = joined.translate(_PERCENT).replace(_NUL, "|")
    else:
        encoded = "|".join(text.translate(_PERCENT) for text in added)
    return f"{escaped}|{encoded}"


_NUL = "\x00"


def _subfield_text(value: object) -> str:
    """:func:`percent_encoded` before the encoding."""
    text = "" if value is None else str(value)
    return "" if text in ("nan", "None") else text


def csq_names() -> list[str]:
    return [name for name, _ in CSQ_FIELDS] + [name for name, _ in ADDED_CSQ]


def csq_header_line() -> str:
    names = "|".join(csq_names())
    first = len(CSQ_FIELDS)
    return (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        f"nlrp3annot; subfields after the first {first} ({ADDED_CSQ[0][0]} on) were added "
        "later, at the end, so positions of the earlier ones are unchanged; their values "
        f'are percent-encoded (%3B %3D %2C %7C %20 %25). Format: {names}">'
    )


def vcf_place(column: str, has_samples: bool) -> tuple[str, str]:
    """Where the TSV's ``column`` is in the VCF: (kind, name), see :data:`RENAMED`."""
    if has_samples and column in SAMPLE_READING:
        return SAMPLE_READING[column]
    if not has_samples and column in WITHOUT_SAMPLES:
        return WITHOUT_SAMPLES[column]
    if column in RENAMED:
        return RENAMED[column]
    if column in dict((c, n) for n, c in ADDED_CSQ) or column.upper() in dict(CSQ_FIELDS):
        return ("CSQ", column.upper())
    return ("FORMAT", "NLRP3_" + column.upper())
