"""Locus download and cache, against a local fake of Ensembl REST and NCBI E-utilities.

The fake server answers in each service's real format from the TEST genomes in tests/data
and serves exactly the window asked for, so a fetch of the wrong window or with wrong
parameters fails the comparison with pysam. Nothing here touches the internet.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pysam
import pytest
import requests

from nlrp3annot.errors import FetchError, ReferenceMismatchError
from nlrp3annot.genome.fetch import cache_dir, cached_locus, fetch_locus, locus_url
from nlrp3annot.genome.reference import BUILDS, REFSEQ_CHR1, known_bases, locus_window
from nlrp3annot.genome.sequence import SHIFT_MARGIN, known_base_agreement

DATA = Path(__file__).parent / "data"
GENOME = {build: DATA / f"TEST_LOCUS_{build}_not_real_genome.fa.gz" for build in BUILDS}
OTHER_BUILD = {"GRCh38": "GRCh37", "GRCh37": "GRCh38"}
ACCESSION_BUILD = {acc: build for build, acc in REFSEQ_CHR1.items()}
ENSEMBL_PATH = re.compile(r"/sequence/region/human/1:(\d+)\.\.(\d+):1")
NCBI_PATH = "/entrez/eutils/efetch.fcgi"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def expected_window(build: str) -> tuple[int, int]:
    """Computed here, not taken from fetch.py, so a wrong window in fetch.py is caught."""
    start, end = locus_window(build)
    return start - SHIFT_MARGIN, end + SHIFT_MARGIN


def genome_bases(build: str, start: int, end: int) -> str:
    """Bases start..end (1-based inclusive) of chr1 of the TEST genome of ``build``."""
    with pysam.FastaFile(str(GENOME[build])) as fasta:
        return fasta.fetch("chr1", start - 1, end)


class FakeServices(BaseHTTPRequestHandler):
    """Ensembl REST /sequence/region and NCBI efetch, as far as fetch.py uses them.

    ``self.server.behaviour`` bends the answer for failure tests:
    ``status`` (int) answers that HTTP error; ``other_build`` serves the same coordinates
    from the other build's genome; ``shift`` serves a window moved by that many bases;
    ``truncate`` drops that many bases from the end; ``sleep`` waits that many seconds.
    """

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        self.server.requests.append(  # type: ignore[attr-defined]
            (self.path, self.headers.get("Content-Type"))
        )
        if "sleep" in behaviour:
            time.sleep(behaviour["sleep"])
        if "status" in behaviour:
            self._send(behaviour["status"], "text/plain", "Something went wrong on our side\n")
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if ENSEMBL_PATH.fullmatch(url.path):
            self._ensembl(url.path, query)
        elif url.path == NCBI_PATH:
            self._ncbi(query)
        else:
            self._send(404, "text/plain", "page not found\n")

    def _ensembl(self, path: str, query: dict[str, list[str]]) -> None:
        match = ENSEMBL_PATH.fullmatch(path)
        assert match is not None
        start, end = int(match[1]), int(match[2])
        versions = query.pop("coord_system_version", [])
        if query or len(versions) != 1 or versions[0] not in BUILDS or start > end:
            self._send(400, "application/json", json.dumps({"error": "bad request"}))
            return
        if self.headers.get("Content-Type") != "text/plain":
            # Real Ensembl answers JSON unless plain text is asked for.
            self._send(200, "application/json", json.dumps({"seq": "ACGT", "id": "x"}))
            return
        self._send(200, "text/plain", self._bases(versions[0], start, end))

    def _ncbi(self, query: dict[str, list[str]]) -> None:
        params = {key: values[0] for key, values in query.items() if len(values) == 1}
        fixed = {"db": "nuccore", "strand": "1", "rettype": "fasta", "retmode": "text"}
        expected_keys = set(fixed) | {"id", "seq_start", "seq_stop"}
        if (
            set(query) != expected_keys
            or len(params) != len(query)
            or any(params[key] != value for key, value in fixed.items())
            or params["id"] not in ACCESSION_BUILD
            or not params["seq_start"].isdigit()
            or not params["seq_stop"].isdigit()
        ):
            self._send(400, "text/plain", "Error: bad request parameters\n")
            return
        start, end = int(params["seq_start"]), int(params["seq_stop"])
        build = ACCESSION_BUILD[params["id"]]
        bases = self._bases(build, start, end)
        lines = [f">{params['id']}:{start}-{end} Homo sapiens chromosome 1, {build} Primary"]
        lines += [bases[i : i + 70] for i in range(0, len(bases), 70)]  # NCBI wraps at 70
        self._send(200, "text/plain", "\n".join(lines) + "\n\n")

    def _bases(self, build: str, start: int, end: int) -> str:
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        shift = behaviour.get("shift", 0)
        served_build = OTHER_BUILD[build] if behaviour.get("other_build") else build
        bases = genome_bases(served_build, start + shift, end + shift)
        return bases[: len(bases) - behaviour.get("truncate", 0)]

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing to report


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache, and no proxy can reroute localhost requests."""
    monkeypatch.setenv("NLRP3ANNOT_CACHE", str(tmp_path))
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeServices)
    httpd.behaviour = {}  # type: ignore[attr-defined]
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def base_url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def cache_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("source", ["ensembl", "ncbi"])
@pytest.mark.parametrize("build", BUILDS)
def test_fetch_writes_verified_cache(server, cache: Path, build: str, source: str) -> None:
    path = fetch_locus(build, source=source, base_url=base_url(server))

    assert path == cache / f"NLRP3_locus_{build}.fa"
    assert cache_files(cache) == [path.name]  # no temp file left behind
    start, end = expected_window(build)
    (request_path, content_type), *rest = server.requests
    assert not rest
    if source == "ensembl":
        assert request_path == (
            f"/sequence/region/human/1:{start}..{end}:1?coord_system_version={build}"
        )
        assert content_type == "text/plain"
    else:
        query = parse_qs(urlsplit(request_path).query)
        assert query["id"] == [REFSEQ_CHR1[build]]
        assert (query["seq_start"], query["seq_stop"]) == ([str(start)], [str(end)])

    lines = path.read_text().splitlines()
    header = re.fullmatch(
        rf">NLRP3_locus build={build} start={start} end={end} "
        r"source=(\S+) fetched=\d{4}-\d\d-\d\d",
        lines[0],
    )
    assert header is not None
    assert header[1] == base_url(server) + request_path
    assert all(len(line) == 60 for line in lines[1:-1])
    assert 0 < len(lines[-1]) <= 60

    seq = cached_locus(build)
    assert seq is not None
    assert (seq.build, seq.start, seq.end, seq.source) == (build, start, end, str(path))
    assert seq.bases == genome_bases(build, start, end).upper()
    matching, checked = known_base_agreement(seq)
    assert matching == checked == len(known_bases(build))
    assert all(seq.base(known.pos) == known.ref for known in known_bases(build))


def test_ensembl_grch38_fetch_matches_pysam(server) -> None:
    fetch_locus("GRCh38", base_url=base_url(server))
    seq = cached_locus("GRCh38")
    start, end = expected_window("GRCh38")
    assert seq is not None and seq.bases == genome_bases("GRCh38", start, end).upper()


def test_ncbi_grch37_fetch_matches_pysam(server) -> None:
    fetch_locus("GRCh37", source="ncbi", base_url=base_url(server))
    seq = cached_locus("GRCh37")
    start, end = expected_window("GRCh37")
    assert seq is not None and seq.bases == genome_bases("GRCh37", start, end).upper()


def test_fetch_uses_given_session(server) -> None:
    with requests.Session() as session:
        calls = []
        original = session.get

        def spy(url: str, **kwargs: object) -> requests.Response:
            calls.append((url, kwargs.get("timeout")))
            return original(url, **kwargs)

        session.get = spy  # type: ignore[method-assign]
        fetch_locus("GRCh38", base_url=base_url(server), timeout=7.5, session=session)
    assert len(calls) == 1 and calls[0][1] == 7.5
    assert calls[0][0].startswith(base_url(server) + "/sequence/region/human/1:")


@pytest.mark.parametrize("source", ["ensembl", "ncbi"])
def test_wrong_build_is_refused_and_not_cached(server, cache: Path, source: str) -> None:
    server.behaviour["other_build"] = True  # GRCh37 bases at the GRCh38 coordinates
    with pytest.raises(ReferenceMismatchError, match="not the GRCh38 NLRP3 reference"):
        fetch_locus("GRCh38", source=source, base_url=base_url(server))
    assert cache_files(cache) == []


def test_wrong_region_is_refused_and_not_cached(server, cache: Path) -> None:
    server.behaviour["shift"] = 1_000  # right length, right build, wrong place
    with pytest.raises(ReferenceMismatchError):
        fetch_locus("GRCh38", base_url=base_url(server))
    assert cache_files(cache) == []


@pytest.mark.parametrize("status", [500, 404])
@pytest.mark.parametrize("source", ["ensembl", "ncbi"])
def test_http_error_names_url(server, cache: Path, status: int, source: str) -> None:
    server.behaviour["status"] = status
    url = locus_url("GRCh38", source, base_url(server))
    with pytest.raises(FetchError) as err:
        fetch_locus("GRCh38", source=source, base_url=base_url(server))
    message = str(err.value)
    assert url in message and f"HTTP {status}" in message and "--fasta" in message
    assert "\n" not in message
    assert cache_files(cache) == []


def test_unknown_path_is_http_error(server) -> None:
    # A base URL with an extra prefix reaches a path the fake does not serve: a real 404.
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_locus("GRCh38", base_url=base_url(server) + "/wrong")


@pytest.mark.parametrize("source", ["ensembl", "ncbi"])
def test_truncated_sequence_is_refused(server, cache: Path, source: str) -> None:
    server.behaviour["truncate"] = 100
    start, end = expected_window("GRCh37")
    with pytest.raises(FetchError, match=f"got {end - start + 1 - 100} bases"):
        fetch_locus("GRCh37", source=source, base_url=base_url(server))
    assert cache_files(cache) == []


def test_json_answer_is_not_a_sequence(server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ensembl answers JSON when the plain-text header is missing; fetch must refuse it.
    import nlrp3annot.genome.fetch as fetch

    original = fetch._download

    def without_header(url, source, timeout, session):
        return original(url, "other", timeout, session)

    monkeypatch.setattr(fetch, "_download", without_header)
    with pytest.raises(FetchError, match="not a DNA sequence"):
        fetch_locus("GRCh38", base_url=base_url(server))


def test_connection_refused(cache: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now: nothing listens on it.
    url_base = f"http://127.0.0.1:{port}"
    with pytest.raises(FetchError, match="cannot connect") as err:
        fetch_locus("GRCh38", base_url=url_base, timeout=5)
    assert url_base in str(err.value) and "check your connection" in str(err.value)
    assert cache_files(cache) == []


def test_timeout(server, cache: Path) -> None:
    server.behaviour["sleep"] = 1.0
    with pytest.raises(FetchError, match="no answer within 0.2 s"):
        fetch_locus("GRCh38", base_url=base_url(server), timeout=0.2)
    assert cache_files(cache) == []


def test_missing_cache_is_none() -> None:
    assert cached_locus("GRCh38") is None
    assert cached_locus("GRCh37") is None


def _corrupt(text: str) -> dict[str, str]:
    header, *lines = text.splitlines()
    body = "\n".join(lines)
    return {
        "empty": "",
        "not fasta": "hello\n" + body,
        "wrong build": header.replace("build=GRCh38", "build=GRCh37") + "\n" + body,
        "bad start": header.replace("start=", "start=x") + "\n" + body,
        "stale window": re.sub(r"start=(\d+)", "start=1", header) + "\n" + body,
        "truncated": header + "\n" + "\n".join(lines[:-3]),
        "not dna": header + "\n" + body.replace("A", "!", 1),
    }


@pytest.mark.parametrize("kind", sorted(_corrupt(">x\nA")))
def test_corrupt_cache_raises(server, kind: str) -> None:
    path = fetch_locus("GRCh38", base_url=base_url(server))
    path.write_text(_corrupt(path.read_text())[kind])
    with pytest.raises(FetchError, match=r"reference fetch --build GRCh38") as err:
        cached_locus("GRCh38")
    assert str(path) in str(err.value)


def test_binary_cache_raises(server) -> None:
    path = fetch_locus("GRCh38", base_url=base_url(server))
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    with pytest.raises(FetchError, match="reference fetch --build GRCh38"):
        cached_locus("GRCh38")


def test_cache_with_wrong_bases_raises_mismatch(server) -> None:
    path = fetch_locus("GRCh38", base_url=base_url(server))
    header, *lines = path.read_text().splitlines()
    path.write_text(header + "\n" + "\n".join("N" * len(line) for line in lines) + "\n")
    with pytest.raises(ReferenceMismatchError, match="reference fetch --build GRCh38"):
        cached_locus("GRCh38")


def test_cache_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir() == tmp_path
    monkeypatch.delenv("NLRP3ANNOT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "nlrp3annot"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "nlrp3annot"


def test_default_urls_need_no_network() -> None:
    start, end = expected_window("GRCh37")
    assert locus_url("GRCh37") == (
        f"https://grch37.rest.ensembl.org/sequence/region/human/1:{start}..{end}:1"
        "?coord_system_version=GRCh37"
    )
    start, end = expected_window("GRCh38")
    assert locus_url("GRCh38", "ncbi") == (
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi?db=nuccore"
        f"&id=NC_000001.11&seq_start={start}&seq_stop={end}&strand=1&rettype=fasta&retmode=text"
    )
    assert locus_url("GRCh38").startswith("https://rest.ensembl.org/sequence/region/human/1:")
    with pytest.raises(ValueError):
        locus_url("GRCh38", "ucsc")
    with pytest.raises(ValueError):
        locus_url("hg19")


def test_cli_fetch_then_annotate_without_fasta(server, cache: Path, tmp_path: Path) -> None:
    """The user's path without a genome: `reference fetch` once, then `annotate` uses the
    cache for whichever build the VCF is (here a GRCh37 VCF with '1' naming)."""
    from conftest import write_vcf

    from nlrp3annot.cli import main

    assert main(["reference", "fetch", "--build", "both", "--url", base_url(server), "-q"]) == 0
    assert cache_files(cache) == ["NLRP3_locus_GRCh37.fa", "NLRP3_locus_GRCh38.fa"]
    vcf = write_vcf(
        tmp_path / "b37.vcf", [("1", 247424356 + 163_302, "G", "A")], build=None, chrom_name="1"
    )
    out = tmp_path / "out.tsv"
    assert main(["annotate", str(vcf), "-o", str(out), "-q"]) == 0
    header, row = out.read_text().splitlines()
    fields = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert fields["build"] == "GRCh37"
    assert fields["hgvs_p"] == "NP_001230062.1:p.Asp303Asn"
