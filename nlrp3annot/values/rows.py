"""The output tables' rows and column names. A row reads like a dict but holds shared parts
(a joint VCF gives 10^5 rows): :class:`SiteRow` for a sites-only table, :class:`SampleRow`
for one sample x allele x transcript; writers format each part once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from nlrp3annot.values.annotation import COLUMNS

KNOWLEDGE_COLUMNS = [
    "clinvar_id",
    "clinvar_significance",
    "clinvar_review",
    "conditions",
    "clinvar_id_sample",
    "clinvar_significance_sample",
    "clinvar_match",
    "caps_phenotype",
    "penetrance",
]
SAMPLE_COLUMNS = [
    "sample",
    "gt",
    "zygosity",
    "dp",
    "ad",
    "vaf",
    "vaf_ci_low",
    "vaf_ci_high",
    "mosaic_p",
    "mosaic_test",
    "evidence",
    "phase",
    "hgvs_c_sample",
    "hgvs_p_sample",
    "hgvs_p_sample_alt",
    "legacy_protein_sample",
]
_KNOWN = frozenset(KNOWLEDGE_COLUMNS)
_NO_FILE: dict[str, object] = {}  # (never changed: a row without file columns of its own)

SUMMARY_COLUMNS = [
    "file",
    "sample",
    "status",
    "best_variant",
    "hgvs_p_sample",
    "zygosity",
    "vaf",
    "clinvar_significance",
    "caps_phenotype",
    "penetrance",
    "variants",
    "coding_bases_covered",
    "lowest_depth_at_pathogenic_positions",
    "note",
    "confirm",
]


class SiteRow(Mapping):
    """One allele x transcript row of a sites-only table, read like a dict: the annotation's
    fields, its record's ID and FILTER, the file, and the known-variant columns
    (:data:`SITE_KEYS`). A plain tuple inside: a dict of 43 entries per row cost more than
    naming a remembered allele, and writers take the values as they are."""

    __slots__ = ("values",)

    def __init__(self, values: tuple) -> None:
        self.values = values

    def __getitem__(self, key: str) -> object:
        return self.values[_SITE_INDEX[key]]

    def __contains__(self, key: object) -> bool:
        return key in _SITE_INDEX

    def __iter__(self) -> Iterator[str]:
        return iter(SITE_KEYS)

    def __len__(self) -> int:
        return len(SITE_KEYS)

    def as_dict(self) -> dict[str, object]:
        return dict(zip(SITE_KEYS, self.values, strict=True))

    def __reduce__(self):
        return (SiteRow, (self.values,))

    def __repr__(self) -> str:
        return f"SiteRow({self.as_dict()!r})"


SITE_KEYS = (*COLUMNS, "id", "filter", "file", *KNOWLEDGE_COLUMNS)
_SITE_INDEX = {key: i for i, key in enumerate(SITE_KEYS)}


def row_dict(row: Mapping) -> dict[str, object]:
    """A table row (dict, :class:`SiteRow` or sample row) as a plain dict."""
    return row.as_dict() if type(row) is SiteRow else dict(row)


class SampleRow(Mapping):
    """One sample x allele x transcript row of the output table, read like a dict.

    A joint VCF gives hundreds of thousands of such rows that differ only in a few columns,
    so a row holds references to shared parts instead of its own 60-column dict: the site
    (one per record x transcript), the call (one per genotype/read-count pattern), the
    sample's own reading of the protein change with its known-variant columns (shared while
    the allele has no partner in its codons) and the file's own columns (its name; one per
    file, so that the other parts can be shared by the files of a batch; an own part may
    hold them instead). Writers can format each part once (:mod:`nlrp3annot.io.writers`).
    As a dict the file's columns stand before the known-variant columns, as in a site row."""

    __slots__ = ("sample", "site", "call", "own", "file")

    def __init__(self, sample: str, site: dict, call: dict, own: dict, file: dict = _NO_FILE):
        self.sample, self.site, self.call, self.own, self.file = sample, site, call, own, file

    def __getitem__(self, key: str) -> object:
        if key == "sample":
            return self.sample
        for part in (self.own, self.call, self.site, self.file):
            if key in part:
                return part[key]
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:
        if key == "sample":
            return self.sample
        for part in (self.own, self.call, self.site, self.file):
            if key in part:
                return part[key]
        return default

    def __contains__(self, key: object) -> bool:
        return (
            key == "sample"
            or key in self.own
            or key in self.call
            or key in self.site
            or key in self.file
        )

    def __iter__(self) -> Iterator[str]:
        yield from self.site
        yield "sample"
        yield from self.call
        if not self.file:
            yield from self.own
            return
        pending = True
        for key in self.own:
            if pending and key in _KNOWN:
                yield from self.file
                pending = False
            yield key
        if pending:
            yield from self.file

    def __len__(self) -> int:
        return len(self.site) + 1 + len(self.call) + len(self.own) + len(self.file)

    def __repr__(self) -> str:
        return f"SampleRow({dict(self)!r})"

    def __reduce__(self):
        # rows cross process boundaries by the 10^5 (sample shards): keep their pickle small
        if not self.file:
            return (SampleRow, (self.sample, self.site, self.call, self.own))
        return (SampleRow, (self.sample, self.site, self.call, self.own, self.file))


class TsvLine:
    """A sample row as its line of the sample table's TSV (with its newline), made where the
    row was made: a worker process of ``annotate`` sends its files' rows so when a TSV is
    the only output, and the parent, which would otherwise rebuild and format every row,
    only writes text. Only the TSV writer reads it."""

    __slots__ = ("line",)

    def __init__(self, line: str) -> None:
        self.line = line

    def __reduce__(self):
        return (TsvLine, (self.line,))

    def __repr__(self) -> str:
        return f"TsvLine({self.line!r})"
