"""Known-variant knowledge: the bundled ClinVar table, the CAPS phenotype table, and the ClinVar
update against a local fake of NCBI E-utilities (127.0.0.1; nothing here touches the internet).

Expected ClinVar values (VariationIDs, names, SPDIs, dbSNP ids, locations, classifications)
come from the ClinVar web export in shared/reference-sources
(NLRP3_ClinVar_web_export_chat_bot_caps.tsv, see PROVENANCE.md there), not from this code.

The fake answers in E-utilities' JSON layout: esearch ``{"header", "esearchresult": {"count",
"retmax", "retstart", "idlist", ...}}`` and esummary ``{"header", "result": {"uids": [...],
"<uid>": document}}`` with ClinVar document summaries as NCBI serves them (field list as in
statgen/pheweb ui/src/components/Region/LocusZoom/RegionModel.tsx, a typed model of real
ClinVar esummary answers): ``title``, ``variation_set[].canonical_spdi``, ``variation_xrefs``
(dbSNP ``db_id`` without "rs"), ``variation_loc`` (``assembly_name``, ``start``, ``stop``...),
``germline_classification`` (``description``, ``review_status``, ``trait_set[].trait_name``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import nlrp3annot.knowledge.clinvar as knowledge
import nlrp3annot.knowledge.clinvar_update as knowledge_update
from nlrp3annot.errors import FetchError, InputFileError
from nlrp3annot.genome.reference import known_bases, locus_window
from nlrp3annot.knowledge.clinvar import (
    ClinVarRecord,
    ClinVarTable,
    check_spdi,
    load_clinvar,
    load_phenotypes,
)
from nlrp3annot.knowledge.clinvar_update import update_clinvar

REAL_TODAY = knowledge_update._today  # before the autouse fixture pins the day
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
DAY = date(2025, 3, 14)
THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V",
}  # fmt: skip


# ------------------------------------------------------------------ recorded ClinVar answers


def _loc(status: str, assembly: str, accession: str, span: str) -> dict[str, str]:
    start, _, stop = span.partition("-")
    stop = stop or start
    return {
        "status": status,
        "assembly_name": assembly,
        "chr": "1",
        "band": "1q44",
        "start": start,
        "stop": stop,
        "inner_start": "",
        "inner_stop": "",
        "outer_start": "",
        "outer_stop": "",
        "display_start": start,
        "display_stop": stop,
        "assembly_acc_ver": accession,
        "annotation_release": "",
        "alt": "",
        "ref": "",
    }


def summary_doc(
    uid: str,
    title: str,
    *,
    spdi: str,
    rs: str,
    grch38: str,
    grch37: str,
    significance: str,
    review: str,
    traits: list[str],
    variant_type: str,
    consequence: str,
    protein_change: str,
    allele_id: str,
) -> dict:
    """One ClinVar esummary document in NCBI's layout; values from the ClinVar export."""
    empty = {"description": "", "last_evaluated": "1/01/01 00:00", "review_status": "",
             "trait_set": []}  # fmt: skip
    return {
        "uid": uid,
        "obj_type": variant_type,
        "accession": f"VCV{int(uid):09d}",
        "accession_version": f"VCV{int(uid):09d}.1",
        "title": title,
        "variation_set": [
            {
                "measure_id": allele_id,
                "variation_xrefs": [{"db_source": "dbSNP", "db_id": rs}] if rs else [],
                "variation_name": title,
                "cdna_change": title.split(":", 1)[-1].split(" ")[0],
                "aliases": [],
                "variation_loc": [
                    _loc("current", "GRCh38", "GCF_000001405.38", grch38),
                    _loc("previous", "GRCh37", "GCF_000001405.25", grch37),
                ],
                "allele_freq_set": [],
                "variant_type": variant_type,
                "canonical_spdi": spdi,
            }
        ],
        "supporting_submissions": {"scv": [], "rcv": []},
        "germline_classification": {
            "description": significance,
            "last_evaluated": "2024/10/16 00:00",
            "review_status": review,
            "trait_set": [{"trait_xrefs": [], "trait_name": name} for name in traits],
        },
        "clinical_impact_classification": dict(empty),
        "oncogenicity_classification": dict(empty),
        "record_status": "",
        "gene_sort": "NLRP3",
        "chr_sort": "01",
        "location_sort": grch38.split("-")[0].zfill(20),
        "variation_set_name": "",
        "variation_set_id": "",
        "genes": [{"symbol": "NLRP3", "geneid": "114548", "strand": "+", "source": "submitted"}],
        "molecular_consequence_list": [consequence] if consequence else [],
        "protein_change": protein_change,
        "fda_recognized_database": "",
    }


P_LP = "Pathogenic/Likely pathogenic"
MULTI = "criteria provided, multiple submitters, no conflicts"
SINGLE = "criteria provided, single submitter"


def recorded_documents() -> dict[str, dict]:
    """ClinVar documents for a handful of NLRP3 records, as esummary returns them."""
    docs = [
        summary_doc(
            "4374", "NM_001243133.2(NLRP3):c.778C>T (p.Arg260Ter)",
            spdi="NC_000001.11:247424226:C:T", rs="121908150", grch38="247424227",
            grch37="247587529", significance=P_LP, review=MULTI,
            traits=["Autoinflammatory syndrome", "Cryopyrin associated periodic syndrome",
                    "not provided"],
            variant_type="single nucleotide variant", consequence="nonsense",
            protein_change="R260W, R262W, R260*, R262*", allele_id="19413",
        ),
        summary_doc(
            "1701129", "NM_001243133.2(NLRP3):c.778_780delinsTGG (p.Arg260Trp)",
            spdi="NC_000001.11:247424226:CGA:TGG", rs="2103107063",
            grch38="247424227-247424229", grch37="247587529-247587531", significance=P_LP,
            review=MULTI, traits=["Cryopyrin associated periodic syndrome", "not provided"],
            variant_type="Indel", consequence="missense variant",
            protein_change="R260W, R262W", allele_id="1693521",
        ),
        summary_doc(
            "2663365", "NM_001243133.2(NLRP3):c.532_535del (p.Gln178fs)",
            spdi="NC_000001.11:247423977:AGCCAGC:AGC", rs="2527255648",
            grch38="247423978-247423981", grch37="247587280-247587283", significance="VUS",
            review=SINGLE, traits=["not provided"], variant_type="Deletion",
            consequence="frameshift variant", protein_change="Q178fs, Q180fs",
            allele_id="2830814",
        ),
        summary_doc(
            "4371", "NM_001243133.2(NLRP3):c.592G>A (p.Val198Met)",
            spdi="NC_000001.11:247424040:G:A", rs="121908147", grch38="247424041",
            grch37="247587343", significance="Conflicting classifications of pathogenicity",
            review="criteria provided, conflicting classifications",
            traits=["Familial cold autoinflammatory syndrome 1", "not provided"],
            variant_type="single nucleotide variant", consequence="missense variant",
            protein_change="V198M, V200M", allele_id="19410",
        ),
        # Named on another transcript: must be filtered out.
        summary_doc(
            "876055", "NM_004895.4(NLRP3):c.*378A>C",
            spdi="NC_000001.11:247448881:A:C", rs="1664772078", grch38="247448882",
            grch37="247612184", significance="VUS", review=SINGLE,
            traits=["Familial cold autoinflammatory syndrome 1"],
            variant_type="single nucleotide variant", consequence="", protein_change="",
            allele_id="864206",
        ),
        # The reference allele itself (SPDI A:A): no change, must be filtered out.
        summary_doc(
            "138529", "NM_001243133.2(NLRP3):c.780= (p.Arg260=)",
            spdi="NC_000001.11:247424228:A:A", rs="4925543", grch38="247424229",
            grch37="247587531", significance="Benign/Likely benign", review=MULTI,
            traits=["Cryopyrin associated periodic syndrome"],
            variant_type="single nucleotide variant", consequence="no sequence alteration",
            protein_change="", allele_id="142232",
        ),
        # A CNV spanning the gene: no NM_ name and no Canonical SPDI.
        summary_doc(
            "155660", "GRCh38/hg38 1q32.2-44(chr1:207346642-248930485)x3",
            spdi="", rs="", grch38="207346642-248930485", grch37="207519987-249224684",
            significance=P_LP, review="no assertion criteria provided", traits=["See cases"],
            variant_type="copy number gain", consequence="", protein_change="",
            allele_id="165414",
        ),
    ]  # fmt: skip
    return {doc["uid"]: doc for doc in docs}


KEPT = {4374, 1701129, 2663365, 4371}


class FakeEutils(BaseHTTPRequestHandler):
    """esearch.fcgi and esummary.fcgi for db=clinvar, as far as update_clinvar uses them.

    ``self.server.behaviour``: ``status`` answers that HTTP error; ``ids`` overrides the
    esearch id list; ``docs`` is the uid -> document map served by esummary.
    """

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        if "status" in behaviour:
            self._send(behaviour["status"], "text/plain", "Internal Server Error\n")
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        params = {key: values[0] for key, values in query.items() if len(values) == 1}
        if (
            len(params) != len(query)
            or params.get("db") != "clinvar"
            or (params.get("retmode") != "json")
        ):
            self._send(400, "text/plain", "Error: bad request parameters\n")
        elif url.path == "/entrez/eutils/esearch.fcgi":
            self._esearch(params)
        elif url.path == "/entrez/eutils/esummary.fcgi":
            self._esummary(params)
        else:
            self._send(404, "text/plain", "page not found\n")

    def _esearch(self, params: dict[str, str]) -> None:
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        if set(params) != {"db", "term", "retmax", "retmode"} or params["term"] != "NLRP3[gene]":
            self._send(400, "text/plain", "Error: bad esearch parameters\n")
            return
        ids = behaviour.get("ids", list(behaviour["docs"]))
        shown = ids[: int(params["retmax"])]
        result: dict = {
            "count": str(len(ids)),
            "retmax": str(len(shown)),
            "retstart": "0",
            "idlist": shown,
            "translationset": [],
            "translationstack": [
                {"term": "NLRP3[gene]", "field": "gene", "count": str(len(ids)), "explode": "N"},
                "GROUP",
            ],
            "querytranslation": "NLRP3[gene]",
        }
        if not ids:
            result["warninglist"] = {
                "phrasesignored": [],
                "quotedphrasesnotfound": [],
                "outputmessages": ["No items found."],
            }
        body = {"header": {"type": "esearch", "version": "0.3"}, "esearchresult": result}
        self._send(200, "application/json", json.dumps(body))

    def _esummary(self, params: dict[str, str]) -> None:
        docs = self.server.behaviour["docs"]  # type: ignore[attr-defined]
        ids = params.get("id", "").split(",")
        if set(params) != {"db", "id", "retmode"} or not all(i.isdigit() for i in ids):
            self._send(400, "text/plain", "Error: bad esummary parameters\n")
            return
        if len(ids) > 200:
            self._send(414, "text/plain", "Request-URI Too Long\n")
            return
        result: dict = {"uids": ids}
        for uid in ids:
            result[uid] = docs.get(uid, {"uid": uid, "error": "cannot get document summary"})
        body = {"header": {"type": "esummary", "version": "0.3"}, "result": result}
        self._send(200, "application/json", json.dumps(body))

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own empty cache per test, no proxy rerouting 127.0.0.1, no NCBI pause, a fixed day."""
    monkeypatch.setenv("NLRP3ANNOT_CACHE", str(tmp_path))
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(knowledge_update, "NCBI_PAUSE", 0.0)
    monkeypatch.setattr(knowledge_update, "_today", lambda: DAY)
    return tmp_path


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeEutils)
    httpd.behaviour = {"docs": recorded_documents()}  # type: ignore[attr-defined]
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def base_url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def knowledge_files(cache: Path) -> list[str]:
    folder = cache / "knowledge"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------ (a) the bundled table


def test_bundled_table_is_complete_and_every_spdi_valid() -> None:
    table = load_clinvar()
    assert len(table) >= 1150  # 1,170 small variants named on NM_001243133.2 in the export
    assert table.source.endswith("clinvar_NLRP3.tsv")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", table.date)
    assert "Marinkacosmos/chat_bot_caps" in table.origin
    start, end = locus_window("GRCh38")
    reference = {kb.pos: kb.ref for kb in known_bases("GRCh38")}
    for record in table:
        pos0, deleted, inserted = record.spdi
        assert check_spdi(pos0, deleted, inserted) == record.spdi
        assert start <= pos0 + 1 <= end, record
        assert record.hgvs_c.startswith("c.") and not record.hgvs_c.endswith("=")
        assert record.hgvs_p == "" or record.hgvs_p.startswith("p.")
        if len(deleted) == 1 and pos0 + 1 in reference:
            # SPDI is 0-based: the deleted base is the reference base at pos0 + 1.
            assert deleted == reference[pos0 + 1], record
    assert len({r.variation_id for r in table}) == len(table)
    assert len({r.spdi for r in table}) == len(table)


def test_bundled_header_names_source_date_and_licence() -> None:
    text = (Path(__file__).resolve().parent.parent / "reference" / "clinvar_NLRP3.tsv").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    joined = "\n".join(header)
    assert "NLRP3_ClinVar_web_export_chat_bot_caps.tsv" in joined
    assert "4df4b797fecbd7c3cfeae4772f4fec1fe1278fb0" in joined
    assert re.search(r"^# built: \d{4}-\d\d-\d\d$", joined, re.M)
    assert "public domain" in joined
    assert "c.780=" not in text  # the reference allele is no alteration


# ------------------------------------------------------------------ (b) look-ups


def test_by_spdi_finds_the_classic_r260w_snv() -> None:
    # Export row: NM_001243133.2(NLRP3):c.778C>T (p.Arg260Ter), VariationID 4374,
    # Canonical SPDI NC_000001.11:247424226:C:T, rs121908150.
    record = load_clinvar().by_spdi(247424226, "C", "T")
    assert record is not None
    assert (record.variation_id, record.hgvs_c, record.hgvs_p) == (4374, "c.778C>T", "p.Arg260Ter")
    assert record.dbsnp == "rs121908150"
    assert record.significance == P_LP
    assert record.conditions.split("|")[0] == "Autoinflammatory syndrome"
    assert load_clinvar().by_spdi(247424226, "C", "G") is None
    assert load_clinvar().by_spdi(247424227, "C", "T") is None  # 1-based position: no match


def test_by_protein_arg260trp_is_the_delins_record() -> None:
    # Export row: NM_001243133.2(NLRP3):c.778_780delinsTGG (p.Arg260Trp), VariationID 1701129.
    table = load_clinvar()
    for query in ("p.Arg260Trp", "NP_001230062.1:p.Arg260Trp", "NP_001230062.1:p.(Arg260Trp)"):
        assert [r.variation_id for r in table.by_protein(query)] == [1701129], query
    assert table.by_protein("p.Arg260Trp")[0].spdi == (247424226, "CGA", "TGG")
    assert [r.variation_id for r in table.by_protein("p.Arg260Ter")] == [4374]
    assert table.by_protein("NP_004886.3:p.Arg262Trp") == []  # other protein numbering
    assert table.by_protein("c.778C>T") == []


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("NP_001230062.1:p.Arg260Trp", "p.Arg260Trp"),  # the annotator's own spelling
        ("NP_001230062.1:p.Arg260Trp  ", "p.Arg260Trp"),  # trailing blanks go
        ("  NP_001230062.1:p.Arg260Trp", "p.Arg260Trp"),
        ("NP_001230062.1:p.(Arg260Trp)", "p.Arg260Trp"),  # predicted: parentheses go
        ("NP_001230062.1:p.(Arg260Trp", "p.Arg260Trp"),
        ("NP_001230062.1:p.Arg260(Trp)", None),  # parentheses inside: not a protein name
        ("NP_001230062.1:p.", None),
        ("NP_001230062.2:p.Gln178fs", "p.Gln178fs"),  # another version of the same protein
        ("NP_004886.3:p.Arg262Trp", None),
    ],
)
def test_protein_names_are_read_the_same_in_every_spelling(query: str, name: str | None):
    assert knowledge.normalise_protein(query) == name


# ------------------------------------------------------------------ (c) frameshifts


def test_frameshift_long_name_matches_clinvar_short_name() -> None:
    # Export row: NM_001243133.2(NLRP3):c.532_535del (p.Gln178fs), VariationID 2663365.
    table = load_clinvar()
    for query in (
        "p.Gln178ArgfsTer20",
        "NP_001230062.1:p.Gln178ArgfsTer20",
        "p.Gln178Argfs*20",
        "p.Gln178fs",
    ):
        assert [r.variation_id for r in table.by_protein(query)] == [2663365], query
    assert table.by_protein("p.Gln179ArgfsTer20") == []
    # Two ClinVar records share the short name p.Val1028fs (c.3081del and c.3082dup).
    assert {r.variation_id for r in table.by_protein("p.Val1028TrpfsTer5")} == {103042, 3621349}


def test_frameshift_matching_when_clinvar_names_long() -> None:
    def record(variation_id: int, hgvs_p: str, pos0: int) -> ClinVarRecord:
        return ClinVarRecord(variation_id, "c.1del", hgvs_p, "", "", "", "", (pos0, "A", ""))

    table = ClinVarTable(
        [record(1, "p.Gln178ArgfsTer20", 10), record(2, "p.Gln178fs", 20)], "test", "2025-01-01"
    )
    assert [r.variation_id for r in table.by_protein("p.Gln178ArgfsTer20")] == [1, 2]
    assert [r.variation_id for r in table.by_protein("p.Gln178fs")] == [2, 1]
    # A different long frameshift at the same residue is not the long record, but the short
    # record (which only says "a frameshift at Gln178") still matches.
    assert [r.variation_id for r in table.by_protein("p.Gln178ValfsTer5")] == [2]


# ------------------------------------------------------------------ (d) phenotypes


def test_phenotype_table_is_sourced_and_flags_low_penetrance() -> None:
    phenotypes = load_phenotypes()
    assert phenotypes["p.Val198Met"].penetrance == "low"
    assert phenotypes["p.Gln703Lys"].penetrance == "low"
    assert phenotypes["p.Arg260Trp"].legacy == "R260W"
    assert set(phenotypes["p.Arg260Trp"].phenotype.split(";")) == {"FCAS", "MWS"}
    table = load_clinvar()
    for key, entry in phenotypes.items():
        assert key == entry.hgvs_p
        assert entry.source.strip(), key
        assert entry.penetrance in ("high", "low")
        assert set(entry.phenotype.split(";")) <= {"FCAS", "MWS", "NOMID"}
        # Legacy CAPS names use MANE numbering (UniProt is +2): R260W = p.Arg260Trp.
        m = re.fullmatch(r"p\.([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})", key)
        assert m is not None
        assert entry.legacy == f"{THREE_TO_ONE[m[1]]}{m[2]}{THREE_TO_ONE[m[3]]}"
        assert table.by_protein(key), f"{key} is not a ClinVar protein change"


# ------------------------------------------------------------------ (e) update from NCBI


def test_update_writes_dated_file_then_a_new_version(server, cache: Path) -> None:
    first = update_clinvar(base_url=base_url(server))
    assert first == cache / "knowledge" / "clinvar_NLRP3_2025-03-14.tsv"
    assert knowledge_files(cache) == [first.name]  # no temp file left behind
    first_bytes = first.read_bytes()
    table = load_clinvar()
    assert table.source == str(first) and table.date == "2025-03-14"
    assert {r.variation_id for r in table} == KEPT  # other transcript, c.780= and CNV dropped

    # The update reproduces the bundled rows for the same ClinVar records (the fake
    # esummary documents all carry one placeholder date last evaluated, read as ISO).
    bundled = knowledge._bundled_clinvar()
    for variation_id in (4374, 1701129, 2663365):
        mine = next(r for r in table if r.variation_id == variation_id)
        assert mine.last_evaluated == "2024-10-16"
        assert replace(bundled.by_spdi(*mine.spdi), last_evaluated="") == replace(
            mine, last_evaluated=""
        )
    v198m = table.by_spdi(247424040, "G", "A")
    assert v198m is not None and v198m.dbsnp == "rs121908147"
    assert v198m.conditions == "Familial cold autoinflammatory syndrome 1|not provided"
    assert v198m.grch37_location == "247587343"

    # ClinVar changes; a second update the same day is a new file, the first stays as it was.
    server.behaviour["docs"]["4371"]["germline_classification"]["description"] = "Benign"
    second = update_clinvar(base_url=base_url(server))
    assert second == cache / "knowledge" / "clinvar_NLRP3_2025-03-14_2.tsv"
    assert first.read_bytes() == first_bytes
    newest = load_clinvar()
    assert newest.source == str(second)
    record = newest.by_spdi(247424040, "G", "A")
    assert record is not None and record.significance == "Benign"
    assert load_clinvar(first).by_spdi(247424040, "G", "A") == v198m  # old version still readable
    assert knowledge_files(cache) == [first.name, second.name]


def test_update_requests_are_esearch_then_batched_esummary(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knowledge_update, "ESUMMARY_BATCH", 3)
    update_clinvar(base_url=base_url(server))
    search, *summaries = server.requests
    query = parse_qs(urlsplit(search).query)
    assert urlsplit(search).path == "/entrez/eutils/esearch.fcgi"
    assert query == {
        "db": ["clinvar"], "term": ["NLRP3[gene]"], "retmax": ["5000"], "retmode": ["json"]
    }  # fmt: skip
    batches = [parse_qs(urlsplit(s).query)["id"][0].split(",") for s in summaries]
    assert [len(b) for b in batches] == [3, 3, 1]
    assert sum(batches, []) == list(recorded_documents())


def test_update_newer_date_wins(server, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knowledge_update, "_today", lambda: date(2025, 1, 2))
    older = update_clinvar(base_url=base_url(server))
    update_clinvar(base_url=base_url(server))  # clinvar_NLRP3_2025-01-02_2.tsv
    monkeypatch.setattr(knowledge_update, "_today", lambda: date(2025, 1, 10))
    newer = update_clinvar(base_url=base_url(server))
    assert older.name == "clinvar_NLRP3_2025-01-02.tsv"
    assert load_clinvar().source == str(newer)


def test_http_500_is_fetch_error_naming_url(server, cache: Path) -> None:
    server.behaviour["status"] = 500
    with pytest.raises(FetchError) as err:
        update_clinvar(base_url=base_url(server))
    message = str(err.value)
    assert base_url(server) + "/entrez/eutils/esearch.fcgi?db=clinvar" in message
    assert "HTTP 500" in message and "try again later" in message and "\n" not in message
    assert knowledge_files(cache) == []


def test_empty_esearch_is_fetch_error(server, cache: Path) -> None:
    server.behaviour["ids"] = []
    with pytest.raises(FetchError, match=r"no records for NLRP3\[gene\]") as err:
        update_clinvar(base_url=base_url(server))
    assert base_url(server) in str(err.value)
    assert knowledge_files(cache) == []
    assert load_clinvar().source.endswith("clinvar_NLRP3.tsv")  # still the bundled table


def test_no_usable_record_is_fetch_error(server, cache: Path) -> None:
    server.behaviour["ids"] = ["876055", "155660", "138529"]  # none named on NM_001243133.2
    with pytest.raises(FetchError, match="none of the 3 ClinVar records"):
        update_clinvar(base_url=base_url(server))
    assert knowledge_files(cache) == []


def test_truncated_esearch_is_fetch_error(server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knowledge_update, "ESEARCH_RETMAX", 2)
    with pytest.raises(FetchError, match="has 7 records but returned 2"):
        update_clinvar(base_url=base_url(server))


def test_non_json_answer_is_fetch_error(server) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        update_clinvar(base_url=base_url(server) + "/wrong")


def test_broken_cached_update_says_how_to_fix(server, cache: Path) -> None:
    path = update_clinvar(base_url=base_url(server))
    path.write_text("# built: 2025-03-14\nnot a table\n")
    with pytest.raises(FetchError, match="update_clinvar") as err:
        load_clinvar()
    assert str(path) in str(err.value)


def test_named_file_that_is_not_a_table(tmp_path: Path) -> None:
    bad = tmp_path / "x.tsv"
    bad.write_text("hello\n")
    with pytest.raises(InputFileError, match="not a ClinVar table"):
        load_clinvar(bad)
    with pytest.raises(InputFileError, match="cannot read"):
        load_clinvar(tmp_path / "missing.tsv")


def test_default_day_is_todays_utc_date() -> None:
    assert REAL_TODAY() == datetime.now(UTC).date()


def test_cli_knowledge_update_then_annotate_uses_it(
    server, cache: Path, capsys: pytest.CaptureFixture
) -> None:
    """`nlrp3annot knowledge update` writes a new dated table that later runs load."""
    from nlrp3annot.cli import main

    assert main(["knowledge", "update", "--url", base_url(server)]) == 0
    assert "ClinVar NLRP3 table refreshed" in capsys.readouterr().err
    (written,) = knowledge_files(cache)
    assert load_clinvar().source == str(cache / "knowledge" / written)
