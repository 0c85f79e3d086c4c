"""Known-variant columns on output rows: ClinVar (by canonical SPDI, then by protein change)
and the CAPS phenotype table. The tables themselves live in :mod:`nlrp3annot.knowledge`."""

from __future__ import annotations

from dataclasses import dataclass, field

from nlrp3annot.genome.reference import GRCH37_OFFSET
from nlrp3annot.values import KNOWLEDGE_COLUMNS

_CHR1_ACCESSIONS = ("NC_000001.10", "NC_000001.11")
_UNKNOWN = ("",) * len(KNOWLEDGE_COLUMNS)  # a site neither ClinVar nor the CAPS table knows


@dataclass
class Knowledge:
    clinvar: object  # knowledge.ClinVarTable
    phenotypes: dict
    source: str
    _pathogenic: dict[str, set[int]] = field(default_factory=dict, repr=False)
    _columns: dict[tuple, dict[str, str]] = field(default_factory=dict, repr=False)
    _site_values: dict[tuple, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls) -> Knowledge:
        from nlrp3annot.knowledge.clinvar import load_clinvar, load_phenotypes

        table = load_clinvar()
        return cls(table, load_phenotypes(), f"{table.source} ({table.date})")

    def _by_spdi(self, spdi: str, build: str):
        parts = (spdi or "").split(":")  # (split, not a regex: this runs once per site)
        if len(parts) != 4 or parts[0] not in _CHR1_ACCESSIONS or not parts[1].isdigit():
            return None
        pos0 = int(parts[1]) - (GRCH37_OFFSET if build == "GRCh37" else 0)
        return self.clinvar.by_spdi(pos0, parts[2], parts[3])

    def _by_protein(self, hgvs_p: str):
        if not hgvs_p or hgvs_p.endswith(("p.?", "=")):
            return None
        found = self.clinvar.by_protein(hgvs_p)
        return found[0] if found else None

    def annotate(self, row: dict, build: str) -> None:
        """Add the KNOWLEDGE_COLUMNS to ``row`` in place."""
        row.update(self.columns(row, build))

    def columns(self, row, build: str) -> dict[str, str]:
        """The KNOWLEDGE_COLUMNS of ``row`` (looked up once per distinct site and sample
        protein change: a joint VCF repeats them in every carrier's row; do not modify)."""
        key = (
            build,
            str(row.get("spdi", "")),
            str(row.get("hgvs_p", "")),
            str(row.get("hgvs_p_sample") or ""),
            "sample" in row,
        )
        columns = self._columns.get(key)
        if columns is None:
            values = self._lookup(*key)
            columns = self._columns[key] = dict(zip(KNOWLEDGE_COLUMNS, values, strict=True))
        return columns

    def site_values(self, build: str, spdi: str, hgvs_p: str) -> tuple[str, ...]:
        """The KNOWLEDGE_COLUMNS values of a site row (no sample), in that order."""
        key = (build, spdi, hgvs_p)
        values = self._site_values.get(key)
        if values is None:
            # most sites are in neither table (9 in 10 of every coding SNV): that answer
            # needs only the three lookups, not the columns' formatting
            site = self._by_spdi(spdi, build) or self._by_protein(hgvs_p)
            if site is None and hgvs_p.split(":")[-1] not in self.phenotypes:
                values = _UNKNOWN
            else:
                values = self._lookup(build, spdi, hgvs_p, "", False)
            self._site_values[key] = values
        return values

    def _lookup(
        self, build: str, spdi: str, hgvs_p: str, sample_p: str, has_sample: bool
    ) -> tuple[str, ...]:
        """The KNOWLEDGE_COLUMNS values, in that order."""
        by_spdi = self._by_spdi(spdi, build)
        site = by_spdi or self._by_protein(hgvs_p)
        site_id = str(site.variation_id) if site else ""
        significance = site.significance if site else ""
        own = None
        if has_sample and sample_p and sample_p != hgvs_p:
            own = self._by_protein(sample_p)
        pheno = self.phenotypes.get((sample_p or hgvs_p).split(":")[-1])
        return (
            site_id,
            significance,
            site.review_status if site else "",
            site.conditions if site else "",
            str(own.variation_id) if own else site_id,
            own.significance if own else significance,
            _match(own or site, own is not None or (site is not None and site is not by_spdi)),
            pheno.phenotype if pheno else "",
            pheno.penetrance if pheno else "",
        )

    def pathogenic_positions(self, build: str) -> set[int]:
        """Positions (1-based, on ``build``) of ClinVar pathogenic/likely pathogenic changes."""
        if build in self._pathogenic:  # asked once per file; the table does not change
            return self._pathogenic[build]
        from nlrp3annot.patients.status import is_pathogenic

        shift = GRCH37_OFFSET if build == "GRCh37" else 0
        out = set()
        for record in self.clinvar.records():
            if is_pathogenic(record.significance):
                pos0, deleted, _ = record.spdi
                out.update(range(pos0 + 1 + shift, pos0 + 1 + shift + max(len(deleted), 1)))
        self._pathogenic[build] = out
        return out


def _match(record, by_protein: bool) -> str:
    """How the decisive ClinVar record was found: "variant" (this very change, by SPDI) or
    "protein change of <ClinVar's nucleotide change>" (another change, same protein)."""
    if record is None:
        return ""
    if not by_protein:
        return "variant"
    return f"protein change of ClinVar's {record.hgvs_c}"
