"""What a scan of a sample's reads could have missed (:class:`ScanLimits`): the scan writes
it (reads/), the VCF reader reads it back from a header (io/), the patient status decides
with it (patients/)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ScanLimits:
    """What a scan of one sample's reads could have missed: limits of detection (allele
    fractions found with 95% power) per class of allele, and the largest limit at the
    known pathogenic alleles that still allows "negative"."""

    known_snv: float | None  # the highest limit over the known pathogenic SNVs
    known_snvs: int  # how many
    known_indel: float | None
    known_indels: int
    indels: float | None  # small indels: met at 95% of the coding positions
    other_snvs: float | None  # SNVs: met at 95% of the coding positions
    max_lod: float
    indels_worst: float | None = None  # ... and at the hardest coding position
    other_snvs_worst: float | None = None
    known_below_depth: int = 0  # known pathogenic alleles below the minimum depth
    # ... and those whose reads are of a type the library's damage makes no evidence (an
    # oxidised or deaminated library read in one orientation only)
    known_damaged: int = 0
    min_depth: int = 20
    unusable: str = ""  # why no read was usable (then not assessable, whatever the limits)

    @property
    def known(self) -> float | None:
        """The limit that decides: the highest over every known pathogenic allele."""
        values = [v for v in (self.known_snv, self.known_indel) if v is not None]
        return max(values) if values else None

    def describe(self) -> str:
        """One sentence for a patient note: what the limits cover."""
        parts = [f"SNVs at the {self.known_snvs} known pathogenic positions {_pct(self.known_snv)}"]
        if self.known_indels:
            parts.append(
                f"the {self.known_indels} known pathogenic indels {_pct(self.known_indel)}"
            )
        parts.append(
            f"small indels {_pct(self.indels)} at 95% of coding positions "
            f"({_pct(self.indels_worst)} at the hardest)"
        )
        parts.append(
            f"other coding SNVs {_pct(self.other_snvs)} at 95% of coding positions "
            f"({_pct(self.other_snvs_worst)} at the hardest)"
        )
        return "limits of detection (95% power): " + "; ".join(parts)

    def header(self, sample: str) -> str:
        """The ``##NLRP3_SCAN`` header line of the scan's VCF (``LOD`` = :attr:`known`)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        text = ",".join(f"{_HEADER[k]}={_text(v)}" for k, v in values.items())
        return f"##NLRP3_SCAN=<ID={sample},LOD={_text(self.known)},{text}>"

    @classmethod
    def from_header(cls, attrs: Mapping[str, str]) -> ScanLimits | None:
        """From a ``##NLRP3_SCAN`` line's attributes (a scan of an earlier version gave
        only ``LOD``: read as the known SNVs' limit); None when unreadable."""
        try:
            values = {}
            for f in fields(cls):
                raw = attrs.get(_HEADER[f.name])
                if f.name == "known_snv" and raw is None:
                    raw = attrs.get("LOD")
                if f.name in ("known_snvs", "known_indels", "known_below_depth", "known_damaged",
                              "min_depth"):  # fmt: skip
                    values[f.name] = int(raw) if raw not in (None, "", ".") else 0
                elif f.name == "unusable":
                    values[f.name] = (raw or "").strip('"')
                elif f.name == "max_lod":
                    values[f.name] = float(raw)  # type: ignore[arg-type]
                else:
                    values[f.name] = None if raw in (None, "", ".") else float(raw)
        except (TypeError, ValueError):
            return None
        if not values["min_depth"]:
            values["min_depth"] = 20
        return cls(**values)


_HEADER = {
    "known_snv": "LOD_KNOWN_SNV",
    "known_snvs": "KNOWN_SNVS",
    "known_indel": "LOD_KNOWN_INDEL",
    "known_indels": "KNOWN_INDELS",
    "indels": "LOD_INDELS",
    "other_snvs": "LOD_OTHER_SNVS",
    "max_lod": "MAX_LOD",
    "indels_worst": "LOD_INDELS_MAX",
    "other_snvs_worst": "LOD_OTHER_SNVS_MAX",
    "known_below_depth": "KNOWN_BELOW_DEPTH",
    "known_damaged": "KNOWN_DAMAGED",
    "min_depth": "MIN_DEPTH",
    "unusable": "UNUSABLE",
}


def _text(value) -> str:
    if isinstance(value, str):  # quoted, without the quotes a header value cannot hold
        return '"' + value.replace('"', "'") + '"'
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "."
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1%}"
