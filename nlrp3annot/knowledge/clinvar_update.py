"""``nlrp3annot knowledge update``: the NLRP3 ClinVar records from NCBI E-utilities
(esearch, then esummary in batches), written as a new dated table in the user cache that
later runs use; an older table is never overwritten. The table format and loading are in
:mod:`nlrp3annot.knowledge.clinvar`."""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:  # requests costs start-up time; only the download path needs it
    import requests

from nlrp3annot.errors import FetchError
from nlrp3annot.genome.fetch import NCBI_BASE, cache_dir, http_get
from nlrp3annot.knowledge.clinvar import (
    LICENCE,
    SPDI_NOTE,
    TRANSCRIPT,
    ClinVarRecord,
    _one_line,
    _short,
    format_table,
    iso_date,
    parse_spdi,
    parse_title,
)

ESEARCH_TERM = "NLRP3[gene]"
ESEARCH_RETMAX = 5000
ESUMMARY_BATCH = 200  # NCBI asks for POST above 200 ids; batches of 200 keep GET valid
# NCBI allows 3 requests per second without an API key; pause between requests to stay under.
NCBI_PAUSE = 0.34


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
        last_evaluated=iso_date(str(germline.get("last_evaluated") or "")),
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
