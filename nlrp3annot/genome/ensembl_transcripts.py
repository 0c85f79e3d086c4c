"""NLRP3 transcript models from Ensembl REST (``reference fetch --transcripts all``), cached
per build in the user cache and read back for ``annotate --transcripts all``."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # requests costs start-up time; only the download path needs it
    import requests

from nlrp3annot.errors import FetchError
from nlrp3annot.genome.reference import Domain, Transcript
from nlrp3annot.genome.transcripts import (
    CACHE_FORMAT,
    CACHE_VERSION,
    ENSEMBL_CANONICAL,
    ENSEMBL_GENE,
    GENE,
    _check_build,
    _draft_transcript,
    _short,
    _versioned,
)


def ensembl_lookup_url(build: str, base_url: str | None = None) -> str:
    """The Ensembl REST lookup of the NLRP3 gene with its transcripts, exons and translations."""
    from nlrp3annot.genome.fetch import ENSEMBL_BASE

    _check_build(build)
    base = (base_url or ENSEMBL_BASE[build]).rstrip("/")
    return f"{base}/lookup/id/{ENSEMBL_GENE}?expand=1"


def transcripts_cache_path(build: str) -> Path:
    """The cache file of one build's fetched transcript models."""
    from nlrp3annot.genome.fetch import cache_dir

    return cache_dir() / f"transcripts_{build}.json"


def fetch_ensembl_transcripts(
    build: str,
    base_url: str | None = None,
    timeout: float = 30.0,
    session: requests.Session | None = None,
) -> Path:
    """Download NLRP3's protein-coding transcripts from Ensembl REST and cache them.

    The cache holds draft models (:func:`validate` them against the reference before use).
    Raises :class:`FetchError` when the download fails or is not an NLRP3 lookup of
    ``build``; nothing is written then.
    """
    import requests

    from nlrp3annot.genome.fetch import http_get

    url = ensembl_lookup_url(build, base_url)
    http = requests.Session() if session is None else session
    try:
        # Ensembl REST answers JSON when asked to (this header), which the lookup needs.
        response = http_get(
            http,
            url,
            timeout,
            "give the transcripts as a GFF3/GTF annotation file",
            {"Content-Type": "application/json"},
        )
    finally:
        if session is None:
            http.close()
    try:
        data = response.json()
    except ValueError:
        raise FetchError(
            f"{url}: answer is not JSON ({_short(response.text)!r}); check the server"
        ) from None
    transcripts = transcripts_from_lookup(data, build, url)
    payload = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "build": build,
        "gene": GENE,
        "source": url,
        "fetched": datetime.now(UTC).date().isoformat(),
        "transcripts": [transcript_to_dict(t) for t in transcripts],
    }
    from nlrp3annot.genome.fetch import write_cache

    text = json.dumps(payload, indent=1) + "\n"
    return write_cache(transcripts_cache_path(build), text, "cached transcripts")


def transcripts_from_lookup(data: object, build: str, where: str) -> list[Transcript]:
    """Draft models of the protein-coding transcripts in an Ensembl ``lookup?expand=1`` answer.

    Translation start/end are genomic CDS bounds; whether the end includes the stop codon
    does not matter, :func:`validate` takes in a stop codon that follows.
    """
    try:
        return _from_lookup(data, build, where)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FetchError(
            f"{where}: not an Ensembl gene lookup with transcripts ({_short(repr(exc))}); "
            "check the server"
        ) from None


def _from_lookup(data: object, build: str, where: str) -> list[Transcript]:
    if not isinstance(data, dict):
        raise TypeError(f"answer is a {type(data).__name__}, not an object")
    if str(data["id"]).split(".")[0] != ENSEMBL_GENE:
        raise FetchError(f"{where}: answer is about {data['id']}, not {ENSEMBL_GENE} (NLRP3)")
    assembly = data.get("assembly_name")
    if assembly and assembly != build:
        raise FetchError(f"{where}: answer is on {assembly}, expected {build}; check the server")
    if str(data.get("seq_region_name", "1")) != "1":
        raise FetchError(f"{where}: NLRP3 is on {data['seq_region_name']}, expected 1")
    gene_id = _versioned(str(data["id"]), str(data.get("version") or ""))
    out = []
    for tx in data["Transcript"]:
        if tx.get("biotype") != "protein_coding" or not tx.get("Translation"):
            continue
        accession = _versioned(str(tx["id"]), str(tx.get("version") or ""))
        if int(tx.get("strand", 1)) != 1:
            raise FetchError(
                f"{where}: NLRP3 transcript {accession} is on the minus strand; NLRP3 lies on "
                "the plus strand of chromosome 1 (check the server)"
            )
        translation = tx["Translation"]
        tags = [ENSEMBL_CANONICAL] if tx.get("is_canonical") else []
        # Present when the lookup is asked with mane=1; harmless otherwise.
        tags += [str(m.get("type", "")) for m in tx.get("MANE") or () if isinstance(m, dict)]
        out.append(
            _draft_transcript(
                accession=accession,
                ensembl_id=accession,
                protein_id=_versioned(
                    str(translation["id"]), str(translation.get("version") or "")
                ),
                gene_id=gene_id,
                build=build,
                exons=sorted((int(e["start"]), int(e["end"])) for e in tx["Exon"]),
                cds_start=int(translation["start"]),
                cds_end=int(translation["end"]),
                tags=tags,
            )
        )
    if not out:
        raise FetchError(f"{where}: answer has no protein-coding NLRP3 transcript")
    return out


def cached_transcripts(build: str) -> list[Transcript] | None:
    """The fetched draft models of ``build``; None when they have not been fetched.

    A cache that cannot be read raises :class:`FetchError` saying how to refetch.
    """
    _check_build(build)
    path = transcripts_cache_path(build)
    if not path.exists():
        return None
    refetch = f"delete it or fetch the {build} transcripts again"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FetchError(
            f"{path}: cannot read the cached transcripts ({_short(exc)}); {refetch}"
        ) from None
    try:
        if payload.get("format") != CACHE_FORMAT or payload.get("build") != build:
            raise ValueError(f"not a {CACHE_FORMAT} file of {build}")
        transcripts = [transcript_from_dict(d) for d in payload["transcripts"]]
        if any(t.build != build or t.gene != GENE for t in transcripts):
            raise ValueError(f"holds models that are not NLRP3 on {build}")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise FetchError(f"{path}: corrupt cached transcripts ({_short(exc)}); {refetch}") from None
    return transcripts


def transcript_to_dict(t: Transcript) -> dict:
    """A Transcript as plain JSON data (tuples become lists)."""
    return asdict(t)


def transcript_from_dict(d: dict) -> Transcript:
    """Inverse of :func:`transcript_to_dict`; KeyError/TypeError/ValueError when malformed."""
    return Transcript(
        accession=str(d["accession"]),
        ensembl_id=str(d["ensembl_id"]),
        protein_id=str(d["protein_id"]),
        gene=str(d["gene"]),
        gene_id=str(d["gene_id"]),
        build=str(d["build"]),
        chrom=str(d["chrom"]),
        exons=tuple((int(s), int(e)) for s, e in d["exons"]),
        cds_start=int(d["cds_start"]),
        cds_end=int(d["cds_end"]),
        protein=str(d["protein"]),
        domains=tuple(
            Domain(
                str(x["name"]),
                int(x["start"]),
                int(x["end"]),
                int(x["uniprot_start"]),
                int(x["uniprot_end"]),
            )
            for x in d["domains"]
        ),
        legacy_exon_numbers=tuple(None if n is None else int(n) for n in d["legacy_exon_numbers"]),
        flags=tuple(str(f) for f in d["flags"]),
        uniprot_offset=int(d["uniprot_offset"]),
    )
