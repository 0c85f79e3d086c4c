"""Known NLRP3 variants: ClinVar records and the CAPS phenotype reported for well-known changes.

Two tables, both bundled in ``reference/`` (installed as ``nlrp3annot.reference_data``) and
documented in ``reference/KNOWLEDGE.md``:

* ``clinvar_NLRP3.tsv``: every ClinVar small variant named on NM_001243133.2, keyed by its
  Canonical SPDI (GRCh38, 0-based, fully justified). Built by ``scripts/build_knowledge.py``;
  :func:`update_clinvar` writes a newer, dated copy into the user cache, and
  :func:`load_clinvar` prefers the newest such copy so that an update takes effect.
* ``caps_phenotypes.tsv``: a short, sourced table of the CAPS phenotype (FCAS/MWS/NOMID) and
  penetrance reported for well-known variants, keyed by MANE protein change (``p.Arg260Trp``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:  # requests costs start-up time; only the download paths need it
    import requests

from nlrp3annot.errors import FetchError, InputFileError
from nlrp3annot.genome.fetch import NCBI_BASE, cache_dir, http_get
from nlrp3annot.genome.reference import data_file

TRANSCRIPT = "NM_001243133.2"
PROTEIN = "NP_001230062.1"
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
)
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
ESEARCH_TERM = "NLRP3[gene]"
ESEARCH_RETMAX = 5000
ESUMMARY_BATCH = 200  # NCBI asks for POST above 200 ids; batches of 200 keep GET valid
# NCBI allows 3 requests per second without an API key; pause between requests to stay under.
NCBI_PAUSE = 0.34

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
        self, records: Iterable[ClinVarRecord], source: str, date: str, origin: str = ""
    ) -> None:
        self._records = tuple(sorted(records, key=lambda r: (r.spdi, r.variation_id)))
        self.source = source
        self.date = date
        self.origin = origin  # where the file's data came from (its "# source:" line)
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
        key = frameshift_key(name)
        if key is not None:
            other = self._fs_long if key == name else self._fs_short
            found += [r for r in other.get(key, ()) if r not in found]
        return found


def normalise_protein(hgvs_p: str) -> str | None:
    """``p.Arg260Trp`` from any accepted spelling; None for another protein or a non-p. name."""
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
            if tuple(fields) != COLUMNS:
                raise ValueError(f"line {number}: expected the column line {' '.join(COLUMNS)}")
            header_seen = True
            continue
        if len(fields) != len(COLUMNS):
            raise ValueError(f"line {number}: {len(fields)} fields, expected {len(COLUMNS)}")
        row = dict(zip(COLUMNS, fields, strict=True))
        try:
            spdi = check_spdi(int(row["spdi_pos"]), row["deleted"], row["inserted"])
            variation_id = int(row["variation_id"])
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        records.append(
            ClinVarRecord(
                variation_id=variation_id,
                hgvs_c=row["hgvs_c"],
                hgvs_p=row["hgvs_p"],
                significance=row["significance"],
                review_status=row["review_status"],
                conditions=row["conditions"],
                dbsnp=row["dbsnp"],
                spdi=spdi,
                grch38_location=row["grch38_location"],
                grch37_location=row["grch37_location"],
            )
        )
    if not header_seen:
        raise ValueError(f"no column line ({where} is not a ClinVar table)")
    return records, meta


def check_spdi(pos0: int, deleted: str, inserted: str) -> tuple[int, str, str]:
    """The SPDI triple if it is a real change on the locus; ValueError says why not."""
    if pos0 < 0:
        raise ValueError(f"negative SPDI position {pos0}")
    if not re.fullmatch(r"[ACGT]*", deleted) or not re.fullmatch(r"[ACGT]*", inserted):
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
    """The newest table written by :func:`update_clinvar`, or None if there is none."""
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
    hint = "delete it or run nlrp3annot.knowledge.clinvar.update_clinvar() again"
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
    return ClinVarTable(records, where, meta.get("built", "unknown"), meta.get("source", ""))


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


# ---------------------------------------------------------------- update from NCBI


def update_clinvar(
    base_url: str | None = None,
    timeout: float = 60.0,
    session: requests.Session | None = None,
) -> Path:
    """Fetch the current ClinVar records for NLRP3 from NCBI E-utilities into the cache.

    esearch finds the ClinVar ids of ``NLRP3[gene]``; esummary (in batches of 200) gives each
    record. Only records named on NM_001243133.2 with a Canonical SPDI are kept, as in the
    bundled table. The result is a NEW file ``<cache>/knowledge/clinvar_NLRP3_<date>.tsv``
    (``_2``, ``_3``... when that date exists); older files are never touched. Returns its path.
    Raises :class:`FetchError` naming the URL when a request fails, the answer is not what
    E-utilities sends, or nothing usable came back; nothing is written then.
    """
    base = (base_url or NCBI_BASE).rstrip("/") + "/entrez/eutils"
    own_session = session is None
    import requests

    http = requests.Session() if session is None else session
    try:
        search_url = _url(
            f"{base}/esearch.fcgi",
            {"db": "clinvar", "term": ESEARCH_TERM, "retmax": ESEARCH_RETMAX, "retmode": "json"},
        )
        ids = esearch_ids(_get_json(http, search_url, timeout), search_url)
        documents: list[dict] = []
        for start in range(0, len(ids), ESUMMARY_BATCH):
            batch = ids[start : start + ESUMMARY_BATCH]
            time.sleep(NCBI_PAUSE)
            summary_url = _url(
                f"{base}/esummary.fcgi", {"db": "clinvar", "id": ",".join(batch), "retmode": "json"}
            )
            documents += esummary_documents(_get_json(http, summary_url, timeout), summary_url)
    finally:
        if own_session:
            http.close()
    records = [r for r in (record_from_summary(d) for d in documents) if r is not None]
    if not records:
        raise FetchError(
            f"{search_url}: none of the {len(ids)} ClinVar records is a small variant named on "
            f"{TRANSCRIPT}; nothing was written (check the query or try again later)"
        )
    fetched = _today().isoformat()
    meta = {
        "about": f"ClinVar small variants named on {TRANSCRIPT} (NLRP3 MANE Select)",
        "source": f"NCBI E-utilities esearch {ESEARCH_TERM} + esummary db=clinvar ({base})",
        "built": fetched,
        "licence": LICENCE,
        "spdi": SPDI_NOTE,
    }
    return _write_new(cache_dir() / "knowledge", fetched, format_table(records, meta))


def esearch_ids(data: object, url: str) -> list[str]:
    """The id list of an esearch JSON answer; FetchError if it is an error or empty."""
    result = data.get("esearchresult") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise FetchError(f"{url}: not an esearch answer (no esearchresult); try again later")
    error = result.get("ERROR") or (data.get("error") if isinstance(data, dict) else None)
    if error:
        raise FetchError(f"{url}: esearch error: {_short(error)} (try again later)")
    ids = result.get("idlist")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.isdigit() for i in ids):
        raise FetchError(f"{url}: esearch idlist is not a list of ids; try again later")
    if not ids:
        raise FetchError(
            f"{url}: ClinVar found no records for {ESEARCH_TERM}; nothing was written "
            "(check the query or try again later)"
        )
    count = result.get("count")
    if isinstance(count, str) and count.isdigit() and int(count) > len(ids):
        # Silently keeping the first retmax ids would make an incomplete table look complete.
        raise FetchError(
            f"{url}: ClinVar has {count} records but returned {len(ids)}; raise retmax"
        )
    return ids


def esummary_documents(data: object, url: str) -> list[dict]:
    """The document summaries of an esummary JSON answer, in ``uids`` order.

    Ids that NCBI answers with an error (e.g. a withdrawn record) are left out.
    """
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("uids"), list):
        said = data.get("error") if isinstance(data, dict) else None
        detail = f": {_short(said)}" if said else " (no result.uids)"
        raise FetchError(f"{url}: not an esummary answer{detail}; try again later")
    documents = []
    for uid in result["uids"]:
        document = result.get(str(uid))
        if isinstance(document, dict) and "error" not in document:
            documents.append(document)
    return documents


def record_from_summary(document: dict) -> ClinVarRecord | None:
    """The record of one ClinVar esummary document, or None when it is not a small variant
    named on NM_001243133.2 with a Canonical SPDI (or is no change, like ``c.780=``)."""
    names = parse_title(str(document.get("title") or ""))
    variations = document.get("variation_set")
    if names is None or not isinstance(variations, list) or not variations:
        return None
    variation = variations[0] if isinstance(variations[0], dict) else {}
    spdi = parse_spdi(str(variation.get("canonical_spdi") or ""))
    if spdi is None or spdi[1] == spdi[2]:
        return None
    try:
        variation_id = int(str(document.get("uid")))
    except ValueError:
        return None
    germline = document.get("germline_classification")
    germline = germline if isinstance(germline, dict) else {}
    traits = germline.get("trait_set") if isinstance(germline.get("trait_set"), list) else []
    conditions = "|".join(
        str(t.get("trait_name")).strip()
        for t in traits
        if isinstance(t, dict) and str(t.get("trait_name") or "").strip()
    )
    return ClinVarRecord(
        variation_id=variation_id,
        hgvs_c=names[0],
        hgvs_p=names[1],
        significance=str(germline.get("description") or ""),
        review_status=str(germline.get("review_status") or ""),
        conditions=conditions,
        dbsnp=_dbsnp(variation.get("variation_xrefs")),
        spdi=spdi,
        grch38_location=_location(variation.get("variation_loc"), "GRCh38"),
        grch37_location=_location(variation.get("variation_loc"), "GRCh37"),
    )


def _dbsnp(xrefs: object) -> str:
    # esummary gives the bare number ("121908150"); the table uses the rs form.
    for xref in xrefs if isinstance(xrefs, list) else []:
        if isinstance(xref, dict) and xref.get("db_source") == "dbSNP" and xref.get("db_id"):
            rs = str(xref["db_id"]).strip()
            return rs if rs.startswith("rs") else f"rs{rs}"
    return ""


def _location(locations: object, assembly: str) -> str:
    """``start`` or ``start-stop`` on ``assembly``, as the ClinVar web export writes it."""
    for loc in locations if isinstance(locations, list) else []:
        if isinstance(loc, dict) and loc.get("assembly_name") == assembly:
            start, stop = str(loc.get("start") or ""), str(loc.get("stop") or "")
            return start if not stop or stop == start else f"{start}-{stop}"
    return ""


def _today() -> date:
    """Today's date (UTC, as in fetch.py); a function so tests can pin the day."""
    return datetime.now(UTC).date()


def _url(endpoint: str, params: dict[str, object]) -> str:
    # Keep [ ] and , readable in the URL (and in error messages); E-utilities accepts both.
    return f"{endpoint}?{urlencode(params, safe='[],')}"


def _get_json(http: requests.Session, url: str, timeout: float) -> object:
    """GET ``url`` and parse JSON; every transport, HTTP or format failure is a FetchError."""
    response = http_get(http, url, timeout, "keep using the bundled table")
    try:
        return json.loads(response.text)
    except ValueError:
        raise FetchError(
            f"{url}: answer is not JSON: {_short(response.text)!r} (try again later)"
        ) from None


def _write_new(folder: Path, day: str, text: str) -> Path:
    """Write ``text`` to the first free ``clinvar_NLRP3_<day>[_N].tsv`` in ``folder``.

    The file is written to a temp name and then hard-linked into place: the link fails if the
    name exists, so an older version is never overwritten (even by a concurrent update), and a
    reader never sees a half-written table.
    """
    hint = "set NLRP3ANNOT_CACHE to a writable folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".clinvar_NLRP3.", suffix=".tmp")
    except OSError as exc:
        problem = f"cannot create a file here ({_one_line(exc)})"
        raise FetchError(f"{folder}: {problem}; {hint}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        for n in range(1, 10_000):
            suffix = "" if n == 1 else f"_{n}"
            target = folder / f"clinvar_NLRP3_{day}{suffix}.tsv"
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            return target
        raise FetchError(f"{folder}: too many ClinVar updates dated {day}; delete some")
    except OSError as exc:
        problem = f"cannot write the ClinVar update ({_one_line(exc)})"
        raise FetchError(f"{folder}: {problem}; {hint}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())


def _short(text: object) -> str:
    line = _one_line(str(text))
    return line if len(line) <= _BODY_QUOTE else line[: _BODY_QUOTE - 3] + "..."
