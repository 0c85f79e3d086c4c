"""Download the NLRP3 locus once and keep it in a local cache, so no genome FASTA is needed.

Only the locus window is fetched (about 47 kb), from Ensembl REST or NCBI E-utilities. The
download is checked before anything is written: it must be the right length, contain only
nucleotides, and carry the known ClinVar reference bases of the requested build
(:func:`nlrp3annot.genome.sequence.verify_locus`). A download that fails any check leaves the cache
untouched, so a cache file that exists was good when it was written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # requests costs start-up time; only the download paths need it
    import requests

from nlrp3annot.errors import FetchError, ReferenceMismatchError
from nlrp3annot.genome.reference import BUILDS, REFSEQ_CHR1, locus_window
from nlrp3annot.genome.sequence import SHIFT_MARGIN, LocusSequence, verify_locus

SOURCES = ("ensembl", "ncbi")
# Ensembl serves GRCh37 from a separate, frozen site; the main site only knows GRCh38.
ENSEMBL_BASE = {"GRCh38": "https://rest.ensembl.org", "GRCh37": "https://grch37.rest.ensembl.org"}
NCBI_BASE = "https://eutils.ncbi.nlm.nih.gov"
FASTA_WIDTH = 60
CACHE_HEADER_NAME = "NLRP3_locus"
_NUCLEOTIDES = re.compile(r"[ACGTN]*", re.IGNORECASE)
# How much of a server's error body to quote: enough for Ensembl's one-line reason,
# short enough to keep the message on one readable line.
_BODY_QUOTE = 120


def cache_dir() -> Path:
    """Where downloaded loci live: ``$NLRP3ANNOT_CACHE``, else the XDG cache, else ~/.cache."""
    override = os.environ.get("NLRP3ANNOT_CACHE")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "nlrp3annot"
    return Path.home() / ".cache" / "nlrp3annot"


def cache_path(build: str) -> Path:
    """The cache file of one build's locus."""
    return cache_dir() / f"NLRP3_locus_{build}.fa"


def fetch_window(build: str) -> tuple[int, int]:
    """The window downloaded for ``build``: the same one ``read_fasta_locus`` loads."""
    start, end = locus_window(build)
    return start - SHIFT_MARGIN, end + SHIFT_MARGIN


def locus_url(build: str, source: str = "ensembl", base_url: str | None = None) -> str:
    """The URL that returns the locus window of ``build`` from ``source``."""
    _check_build(build)
    start, end = fetch_window(build)
    if source == "ensembl":
        base = (base_url or ENSEMBL_BASE[build]).rstrip("/")
        return f"{base}/sequence/region/human/1:{start}..{end}:1?coord_system_version={build}"
    if source == "ncbi":
        base = (base_url or NCBI_BASE).rstrip("/")
        return (
            f"{base}/entrez/eutils/efetch.fcgi?db=nuccore&id={REFSEQ_CHR1[build]}"
            f"&seq_start={start}&seq_stop={end}&strand=1&rettype=fasta&retmode=text"
        )
    raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")


def fetch_locus(
    build: str,
    source: str = "ensembl",
    base_url: str | None = None,
    timeout: float = 30.0,
    session: requests.Session | None = None,
) -> Path:
    """Download the NLRP3 locus of ``build``, check it, cache it, and return the cache path.

    Raises :class:`FetchError` when the download fails or is not a sequence of the right
    length, and :class:`ReferenceMismatchError` when it is a sequence but not this build's
    NLRP3 reference. In both cases nothing is written. ``ValueError`` for an unknown build or
    source (a caller bug: the CLI restricts both).
    """
    url = locus_url(build, source, base_url)
    start, end = fetch_window(build)
    body = _download(url, source, timeout, session)
    bases = _fasta_bases(body, url) if source == "ncbi" else "".join(body.split())
    _check_bases(bases, end - start + 1, url, "check the server or pass --fasta")
    seq = LocusSequence(build, start, bases.upper(), source=url)
    verify_locus(seq)  # wrong build or wrong region: propagate before touching the cache
    from datetime import UTC, datetime  # (only a download dates its cache file)

    fetched = datetime.now(UTC).date().isoformat()
    header = (
        f">{CACHE_HEADER_NAME} build={build} start={start} end={end} source={url} fetched={fetched}"
    )
    lines = [header] + [
        seq.bases[i : i + FASTA_WIDTH] for i in range(0, len(seq.bases), FASTA_WIDTH)
    ]
    return write_cache(cache_path(build), "\n".join(lines) + "\n", "cached locus")


def cached_locus(build: str) -> LocusSequence | None:
    """The cached locus of ``build``, verified; None when it has not been fetched.

    A cache file that cannot be parsed raises :class:`FetchError`; one whose bases are not
    the build's reference raises :class:`ReferenceMismatchError`. Both say how to refetch.
    """
    _check_build(build)
    path = cache_path(build)
    if not path.exists():
        return None
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHED:  # read and verified once per process, not once per VCF
        _CACHED[key] = _read_cached_locus(path, build)
    return _CACHED[key]


_CACHED: dict[tuple[str, int, int], LocusSequence] = {}


def _read_cached_locus(path: Path, build: str) -> LocusSequence:
    refetch = f"re-run `nlrp3annot reference fetch --build {build}`"
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise FetchError(
            f"{path}: cannot read the cached locus ({_one_line(exc)}); {refetch}"
        ) from None
    try:
        seq = _parse_cache(text, build, str(path))
    except ValueError as exc:
        raise FetchError(f"{path}: corrupt cached locus: {exc}; {refetch}") from None
    try:
        verify_locus(seq)
    except ReferenceMismatchError as exc:
        # Keep the type (the bases are the wrong reference) but tell the user the fix,
        # since they never chose this file themselves.
        raise ReferenceMismatchError(f"{exc}; {refetch}") from None
    return seq


def _check_build(build: str) -> None:
    if build not in BUILDS:
        raise ValueError(f"unknown build {build!r}; expected one of {BUILDS}")


def _one_line(exc: BaseException | str) -> str:
    """Collapse a message to one line: the CLI prints errors as a single stderr line."""
    return " ".join(str(exc).split())


def _download(url: str, source: str, timeout: float, session: requests.Session | None) -> str:
    """GET ``url`` and return the body; every transport or HTTP failure becomes FetchError."""
    # Ensembl answers JSON unless plain text is asked for; E-utilities ignores the header.
    headers = {"Content-Type": "text/plain"} if source == "ensembl" else {}
    own_session = session is None
    import requests

    http = requests.Session() if session is None else session
    try:
        return http_get(http, url, timeout, "pass --fasta", headers).text
    finally:
        if own_session:
            http.close()


def http_get(
    http: requests.Session,
    url: str,
    timeout: float,
    fallback: str,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """GET ``url``; a timeout, connection failure or HTTP error becomes a one-line FetchError
    naming the URL, what the server said, and ``fallback`` (what else the user can do)."""
    import requests

    hint = f"check your connection or {fallback}"
    try:
        response = http.get(url, headers=headers or {}, timeout=timeout)
    except requests.Timeout:
        raise FetchError(f"{url}: no answer within {timeout:g} s ({hint})") from None
    except requests.ConnectionError as exc:
        raise FetchError(f"{url}: cannot connect: {_short(exc)} ({hint})") from None
    except requests.RequestException as exc:
        raise FetchError(f"{url}: download failed: {_short(exc)} ({hint})") from None
    if not response.ok:
        reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
        said = _short(response.text)
        if said:
            reason += f": {said}"
        raise FetchError(f"{url}: download failed: {reason} (try again later or {fallback})")
    return response


def _short(text: object) -> str:
    line = _one_line(str(text))
    return line if len(line) <= _BODY_QUOTE else line[: _BODY_QUOTE - 3] + "..."


def _fasta_bases(text: str, where: str) -> str:
    """The bases of a single-record FASTA text (header line required)."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith(">"):
        raise FetchError(
            f"{where}: expected a FASTA answer, got {_short(text)!r} "
            "(check the server or pass --fasta)"
        )
    if any(line.startswith(">") for line in lines[1:]):
        raise FetchError(f"{where}: expected one FASTA record, got several (pass --fasta)")
    return "".join("".join(lines[1:]).split())


def _check_bases(bases: str, expected: int, where: str, hint: str) -> None:
    """Refuse anything that is not exactly ``expected`` nucleotides (ACGTN)."""
    if not _NUCLEOTIDES.fullmatch(bases):
        bad = sorted({c for c in bases if c.upper() not in "ACGTN"})
        raise FetchError(
            f"{where}: answer is not a DNA sequence (unexpected characters "
            f"{''.join(bad[:10])!r}) ({hint})"
        )
    if len(bases) != expected:
        raise FetchError(
            f"{where}: got {len(bases)} bases, expected {expected} (truncated? {hint})"
        )


def _parse_cache(text: str, build: str, source: str) -> LocusSequence:
    """Parse a cache file written by :func:`fetch_locus`; ValueError says what is wrong."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(f">{CACHE_HEADER_NAME} "):
        raise ValueError(f"first line is not a >{CACHE_HEADER_NAME} header")
    # Header fields are key=value; the source URL itself contains '=', so split once.
    fields = dict(token.split("=", 1) for token in lines[0].split()[1:] if "=" in token)
    if fields.get("build") != build:
        raise ValueError(f"header says build {fields.get('build')!r}, expected {build}")
    try:
        start, end = int(fields["start"]), int(fields["end"])
    except (KeyError, ValueError):
        raise ValueError("header has no valid start= and end=") from None
    # A window that no longer matches the bundled model (e.g. after an upgrade) is stale:
    # annotation near the edges would silently read N.
    if (start, end) != fetch_window(build):
        want = "{}-{}".format(*fetch_window(build))
        raise ValueError(f"covers {start}-{end}, expected {want}")
    bases = "".join("".join(lines[1:]).split())
    if not _NUCLEOTIDES.fullmatch(bases):
        raise ValueError("sequence contains characters other than ACGTN")
    if len(bases) != end - start + 1:
        raise ValueError(f"{len(bases)} bases, header says {end - start + 1}")
    return LocusSequence(build, start, bases.upper(), source)


def write_cache(path: Path, text: str, what: str) -> Path:
    """Write ``text`` atomically, so an interrupted run can never leave a half-written cache
    that a later run would read. ``what`` names the content in the one-line error."""
    from nlrp3annot.io.atomic import atomic_write

    try:
        return atomic_write(path, lambda handle: handle.write(text))
    except OSError as exc:
        raise FetchError(
            f"{path}: cannot write the {what} ({_one_line(exc)}); "
            "set NLRP3ANNOT_CACHE to a writable folder"
        ) from None
