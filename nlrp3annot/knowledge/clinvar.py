"""Known NLRP3 variants: ClinVar records and the CAPS phenotype reported for well-known changes.

Two tables, both bundled in ``reference/`` (installed as ``nlrp3annot.reference_data``) and
documented in ``reference/KNOWLEDGE.md``:

* ``clinvar_NLRP3.tsv``: every ClinVar small variant named on NM_001243133.2, keyed by its
  Canonical SPDI (GRCh38, 0-based, fully justified). Built by ``scripts/build_knowledge.py``;
  ``nlrp3annot knowledge update`` (:mod:`nlrp3annot.knowledge.clinvar_update`) writes a
  newer, dated copy into the user cache, and
  :func:`load_clinvar` prefers the newest such copy so that an update takes effect.
* ``caps_phenotypes.tsv``: a short, sourced table of the CAPS phenotype (FCAS/MWS/NOMID) and
  penetrance reported for well-known variants, keyed by MANE protein change (``p.Arg260Trp``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # requests costs start-up time; only the download paths need it
    pass

from nlrp3annot.errors import FetchError, InputFileError
from nlrp3annot.genome.fetch import cache_dir
from nlrp3annot.genome.reference import data_file

TRANSCRIPT = "NM_001243133.2"
PROTEIN = "NP_001230062.1"
_OWN_PREFIX = f"{PROTEIN}:p."
CLINVAR_FILE = "clinvar_NLRP3.tsv"
PHENOTYPE_FILE = "caps_phenotypes.tsv"
COLUMNS = (
    "variation_id",
    "hgvs_c",
    "hgvs_p",
    "spdi_pos",
    "deleted",
    "inserted",
    "grch38_location",
    "grch37_location",
    "significance",
    "review_status",
    "conditions",
    "dbsnp",
    "last_evaluated",
)
# Tables written before ``last_evaluated`` was added (cached updates) are still read.
_OLD_COLUMNS = COLUMNS[:-1]
PHENOTYPE_COLUMNS = ("hgvs_p", "legacy", "phenotype", "penetrance", "source")
PHENOTYPES = ("FCAS", "MWS", "NOMID")
PENETRANCES = ("high", "low")
LICENCE = (
    "ClinVar data are public domain (NCBI places no restrictions on their use or "
    "redistribution); please cite ClinVar"
)
SPDI_NOTE = (
    "spdi_pos/deleted/inserted = ClinVar Canonical SPDI on NC_000001.11 (GRCh38): 0-based "
    "position, fully justified deleted and inserted sequences"
)

# "NM_001243133.2(NLRP3):c.778C>T (p.Arg260Ter)"; the protein part is absent for non-coding
# changes. Other transcripts, CNVs and haplotypes do not match and are left out.
_TITLE = re.compile(rf"^{re.escape(TRANSCRIPT)}\(NLRP3\):(c\.[^\s()]+)(?: \((p\.[^()\s]+)\))?$")
_SPDI = re.compile(r"^NC_000001\.11:(\d+):([ACGT]*):([ACGT]*)$")
_PROTEIN_QUERY = re.compile(r"^(?:(NP_\d+(?:\.\d+)?):)?p\.\(?([^()]+)\)?$")
# A frameshift in three-letter HGVS: ClinVar names them short ("p.Gln178fs"), annotators long
# ("p.Gln178ArgfsTer20" or "p.Gln178Argfs*20").
_FRAMESHIFT = re.compile(r"^p\.([A-Z][a-z]{2}\d+)(?:[A-Z][a-z]{2})?fs(?:Ter|\*)?(?:\d+|\?)?$")
_CACHE_NAME = re.compile(r"^clinvar_NLRP3_(\d{4}-\d\d-\d\d)(?:_(\d+))?\.tsv$")
_BODY_QUOTE = 120


@dataclass(frozen=True)
class ClinVarRecord:
    """One ClinVar variation named on NM_001243133.2.

    ``spdi`` is ClinVar's Canonical SPDI on NC_000001.11 as (0-based position, deleted,
    inserted), both sequences fully justified. ``conditions`` keeps ClinVar's ``|`` separator.
    ``hgvs_p`` is ClinVar's own protein name (frameshifts short, e.g. ``p.Gln178fs``), or ""
    when ClinVar gives none.
    """

    variation_id: int
    hgvs_c: str
    hgvs_p: str
    significance: str
    review_status: str
    conditions: str
    dbsnp: str
    spdi: tuple[int, str, str]
    grch38_location: str = ""
    grch37_location: str = ""
    last_evaluated: str = ""  # ISO date ClinVar gives for the germline classification, or ""


@dataclass(frozen=True)
class Phenotype:
    """The CAPS phenotype reported for one protein change, with the public source saying so."""

    hgvs_p: str  # MANE numbering, e.g. p.Arg260Trp
    legacy: str  # the name used in CAPS papers and Infevers, e.g. R260W
    phenotype: str  # FCAS, MWS, NOMID or a ';'-joined combination
    penetrance: str  # high or low
    source: str


class ClinVarTable:
    """ClinVar records indexed by Canonical SPDI and by protein change.

    ``source`` is the file that was loaded and ``date`` the date its header says it was built
    or fetched, so a report can state which ClinVar version it used.
    """

    def __init__(
        self,
        records: Iterable[ClinVarRecord],
        source: str,
        date: str,
        origin: str = "",
        release: str = "",
    ) -> None:
        self._records = tuple(sorted(records, key=lambda r: (r.spdi, r.variation_id)))
        self.source = source
        self.date = date
        self.origin = origin  # where the file's data came from (its "# source:" line)
        # which ClinVar release the data are (its "# release:" line): the date a report
        # states; ``date`` is only when this file was built
        self.release = release or "not recorded"
        self._by_spdi: dict[tuple[int, str, str], ClinVarRecord] = {}
        self._by_name: dict[str, list[ClinVarRecord]] = {}
        # Frameshifts indexed by "p.Gln178fs", separately for ClinVar's short and long names,
        # so a long query meets short records and a short query meets long ones (see by_protein).
        self._fs_short: dict[str, list[ClinVarRecord]] = {}
        self._fs_long: dict[str, list[ClinVarRecord]] = {}
        for record in self._records:
            if record.spdi in self._by_spdi:
                other = self._by_spdi[record.spdi].variation_id
                raise ValueError(
                    f"{source}: VariationIDs {other} and {record.variation_id} share SPDI "
                    f"{record.spdi}"
                )
            self._by_spdi[record.spdi] = record
            if not record.hgvs_p:
                continue
            self._by_name.setdefault(record.hgvs_p, []).append(record)
            key = frameshift_key(record.hgvs_p)
            if key is not None:
                index = self._fs_short if key == record.hgvs_p else self._fs_long
                index.setdefault(key, []).append(record)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[ClinVarRecord]:
        return iter(self._records)

    def __repr__(self) -> str:
        return f"ClinVarTable({len(self)} records from {self.source}, {self.date})"

    @cached_property
    def digest(self) -> str:
        """A digest of the rows (as :func:`format_table` writes them): the same for the same
        table on any machine, whatever its file is called."""
        import hashlib

        return hashlib.sha256(format_table(self._records, {}).encode()).hexdigest()[:16]

    def records(self) -> tuple[ClinVarRecord, ...]:
        """All records, in genomic order."""
        return self._records

    def by_spdi(self, pos0: int, deleted: str, inserted: str) -> ClinVarRecord | None:
        """The record with exactly this GRCh38 Canonical SPDI, else None.

        The key must be ClinVar's form: 0-based position on NC_000001.11 and fully justified
        (maximally extended over a repeat) deleted and inserted sequences.
        """
        return self._by_spdi.get((pos0, deleted.upper(), inserted.upper()))

    def by_protein(self, hgvs_p: str) -> list[ClinVarRecord]:
        """Records whose ClinVar protein name is ``hgvs_p`` (``p.Arg260Trp`` or
        ``NP_001230062.1:p.Arg260Trp``; a predicted ``p.(Arg260Trp)`` is read the same way).

        A frameshift also matches ClinVar's short name: ``p.Gln178ArgfsTer20`` finds the
        record named ``p.Gln178fs`` (and a short query finds long-named records), since the
        short form only says where the frame shifts. A name on another protein accession
        matches nothing: ClinVar names here use NP_001230062.1 numbering.
        """
        name = normalise_protein(hgvs_p)
        if name is None:
            return []
        found = list(self._by_name.get(name, ()))
        key = frameshift_key(name) if "fs" in name else None
        if key is not None:
            other = self._fs_long if key == name else self._fs_short
            found += [r for r in other.get(key, ()) if r not in found]
        return found


def normalise_protein(hgvs_p: str) -> str | None:
    """``p.Arg260Trp`` from any accepted spelling; None for another protein or a non-p. name."""
    if hgvs_p.startswith(_OWN_PREFIX):  # the annotator's own spelling: what the pattern reads
        rest = hgvs_p[len(_OWN_PREFIX) :]
        if rest and "(" not in rest and ")" not in rest and not rest[-1].isspace():
            return f"p.{rest}"
    match = _PROTEIN_QUERY.match(hgvs_p.strip())
    if match is None:
        return None
    accession = match.group(1)
    if accession is not None and accession.split(".")[0] != PROTEIN.split(".")[0]:
        return None
    return f"p.{match.group(2)}"


def frameshift_key(hgvs_p: str) -> str | None:
    """ClinVar's short frameshift name (``p.Gln178fs``) for any frameshift spelling, else None."""
    match = _FRAMESHIFT.match(hgvs_p)
    return f"p.{match.group(1)}fs" if match else None


# ---------------------------------------------------------------- table format (read/write)


def format_table(records: Iterable[ClinVarRecord], meta: dict[str, str]) -> str:
    """The TSV text of ``records``: ``# key: value`` header lines, the column line, rows.

    Rows are sorted by SPDI so the same data always gives the same bytes.
    """
    lines = [f"# {key}: {_clean(value)}" for key, value in meta.items()]
    lines.append("\t".join(COLUMNS))
    for r in sorted(records, key=lambda r: (r.spdi, r.variation_id)):
        fields = (
            str(r.variation_id),
            r.hgvs_c,
            r.hgvs_p,
            str(r.spdi[0]),
            r.spdi[1],
            r.spdi[2],
            r.grch38_location,
            r.grch37_location,
            r.significance,
            r.review_status,
            r.conditions,
            r.dbsnp,
            r.last_evaluated,
        )
        lines.append("\t".join(_clean(f) for f in fields))
    return "\n".join(lines) + "\n"


def parse_table(text: str, where: str) -> tuple[list[ClinVarRecord], dict[str, str]]:
    """Records and header metadata of a table written by :func:`format_table`.

    ValueError names the line that is wrong; callers turn it into the right error type.
    """
    meta: dict[str, str] = {}
    records: list[ClinVarRecord] = []
    header_seen = False
    width = len(COLUMNS)
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                meta.setdefault(key.strip(), value.strip())
            continue
        if not line.strip():
            continue
        fields = line.split("\t")
        if not header_seen:
            if tuple(fields) not in (COLUMNS, _OLD_COLUMNS):
                raise ValueError(f"line {number}: expected the column line {' '.join(COLUMNS)}")
            width = len(fields)
            header_seen = True
            continue
        if len(fields) != width:
            raise ValueError(f"line {number}: {len(fields)} fields, expected {width}")
        if width < len(COLUMNS):  # _OLD_COLUMNS: no last_evaluated
            fields.append("")
        # the fields by position, in COLUMNS order (no dict a row: every run loads the table)
        vid, hgvs_c, hgvs_p, pos, deleted, inserted, grch38, grch37, *rest = fields
        significance, review_status, conditions, dbsnp, last_evaluated = rest
        try:
            spdi = check_spdi(int(pos), deleted, inserted)
            variation_id = int(vid)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        records.append(
            ClinVarRecord(
                variation_id=variation_id,
                hgvs_c=hgvs_c,
                hgvs_p=hgvs_p,
                significance=significance,
                review_status=review_status,
                conditions=conditions,
                dbsnp=dbsnp,
                spdi=spdi,
                grch38_location=grch38,
                grch37_location=grch37,
                last_evaluated=last_evaluated,
            )
        )
    if not header_seen:
        raise ValueError(f"no column line ({where} is not a ClinVar table)")
    return records, meta


def check_spdi(pos0: int, deleted: str, inserted: str) -> tuple[int, str, str]:
    """The SPDI triple if it is a real change on the locus; ValueError says why not."""
    if pos0 < 0:
        raise ValueError(f"negative SPDI position {pos0}")
    # (strip, not a regex: every record of the table is checked on each load)
    if deleted.strip("ACGT") or inserted.strip("ACGT"):
        raise ValueError(f"SPDI alleles {deleted!r}/{inserted!r} are not ACGT sequences")
    if deleted == inserted:
        raise ValueError(f"SPDI {pos0}:{deleted}:{inserted} is no change")
    return pos0, deleted, inserted


def parse_title(title: str) -> tuple[str, str] | None:
    """(c., p.) of a ClinVar name on NM_001243133.2; None for any other name."""
    match = _TITLE.match(title.strip())
    if match is None:
        return None
    return match.group(1), match.group(2) or ""


def parse_spdi(spdi: str) -> tuple[int, str, str] | None:
    """A Canonical SPDI on NC_000001.11 as (pos0, deleted, inserted); None if absent or other."""
    match = _SPDI.match(spdi.strip())
    if match is None:
        return None
    return int(match.group(1)), match.group(2), match.group(3)


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%b %d, %Y", "%B %d, %Y")


def iso_date(text: str) -> str:
    """``YYYY-MM-DD`` of a ClinVar date ("Oct 16, 2024" in exports and variant_summary,
    "2024/10/16 00:00" in esummary), or "" when there is none ("-", "1/01/01 00:00")."""
    from datetime import datetime

    text = text.strip().split(" 00:00")[0].strip()
    for form in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, form).date()
        except ValueError:
            continue
        return day.isoformat() if day.year > 1900 else ""
    return ""


def _clean(value: str) -> str:
    # A tab or newline inside a ClinVar field would break the row; ClinVar never means one.
    return " ".join(str(value).split())


# ---------------------------------------------------------------- loading


def load_clinvar(path: Path | None = None) -> ClinVarTable:
    """The ClinVar table: ``path``, else the newest cached update, else the bundled table.

    A file the user names that cannot be read raises :class:`InputFileError`; a broken cached
    update raises :class:`FetchError` saying how to replace it.
    """
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(path, f"cannot read ({_one_line(exc)})") from None
        try:
            return _table(text, str(path))
        except ValueError as exc:
            raise InputFileError(path, f"not a ClinVar table: {exc}") from None
    newest = newest_cached_clinvar()
    if newest is not None:
        return _load_cached(newest)
    return _bundled_clinvar()


def newest_cached_clinvar() -> Path | None:
    """The newest table written by ``knowledge update``, or None if there is none."""
    folder = cache_dir() / "knowledge"
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return None
    dated = []
    for name in names:
        match = _CACHE_NAME.match(name)
        if match:
            dated.append((match.group(1), int(match.group(2) or 1), name))
    return folder / max(dated)[2] if dated else None


def _load_cached(path: Path) -> ClinVarTable:
    # Read fresh each time (no cache): an update in the same process must take effect.
    hint = "delete it or run 'nlrp3annot knowledge update' (update_clinvar()) again"
    try:
        text = path.read_text(encoding="utf-8")
        return _table(text, str(path))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FetchError(f"{path}: unusable ClinVar update ({_one_line(exc)}); {hint}") from None


@cache
def _bundled_clinvar() -> ClinVarTable:
    resource = data_file(CLINVAR_FILE)
    # A broken bundled table is a packaging bug: let ValueError surface with its line number.
    return _table(resource.read_text(encoding="utf-8"), str(resource))


def _table(text: str, where: str) -> ClinVarTable:
    records, meta = parse_table(text, where)
    if not records:
        raise ValueError("the table has no rows")
    return ClinVarTable(
        records,
        where,
        meta.get("built", "unknown"),
        meta.get("source", ""),
        meta.get("release", ""),
    )


@cache
def load_phenotypes() -> dict[str, Phenotype]:
    """The bundled CAPS phenotype table, keyed by MANE protein change (``p.Arg260Trp``)."""
    resource = data_file(PHENOTYPE_FILE)
    return parse_phenotypes(resource.read_text(encoding="utf-8"))


def parse_phenotypes(text: str) -> dict[str, Phenotype]:
    """Phenotype rows of ``text``; ValueError for a row that breaks the documented format."""
    out: dict[str, Phenotype] = {}
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not rows or tuple(rows[0].split("\t")) != PHENOTYPE_COLUMNS:
        raise ValueError(f"{PHENOTYPE_FILE}: first row must be {' '.join(PHENOTYPE_COLUMNS)}")
    for line in rows[1:]:
        fields = line.split("\t")
        if len(fields) != len(PHENOTYPE_COLUMNS):
            raise ValueError(f"{PHENOTYPE_FILE}: row {line!r} has {len(fields)} fields")
        entry = Phenotype(*(f.strip() for f in fields))
        if not re.fullmatch(r"p\.[A-Z][a-z]{2}\d+[A-Z][a-z]{2}", entry.hgvs_p):
            raise ValueError(f"{PHENOTYPE_FILE}: {entry.hgvs_p!r} is not p.Xxx123Yyy")
        if not entry.phenotype or not set(entry.phenotype.split(";")) <= set(PHENOTYPES):
            raise ValueError(f"{PHENOTYPE_FILE}: {entry.hgvs_p}: bad phenotype {entry.phenotype!r}")
        if entry.penetrance not in PENETRANCES:
            raise ValueError(f"{PHENOTYPE_FILE}: {entry.hgvs_p}: bad penetrance")
        if not entry.source:
            raise ValueError(f"{PHENOTYPE_FILE}: {entry.hgvs_p}: no source")
        if entry.hgvs_p in out:
            raise ValueError(f"{PHENOTYPE_FILE}: {entry.hgvs_p} listed twice")
        out[entry.hgvs_p] = entry
    return out


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())


def _short(text: object) -> str:
    line = _one_line(str(text))
    return line if len(line) <= _BODY_QUOTE else line[: _BODY_QUOTE - 3] + "..."
