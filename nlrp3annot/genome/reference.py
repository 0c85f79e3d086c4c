"""The bundled NLRP3 reference: transcript models per build, protein, domains, known bases.

Data lives in the top-level ``reference/`` folder (installed as ``nlrp3annot.reference_data``)
and is built by ``scripts/build_reference.py``. Coordinates are 1-based inclusive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

BUILDS = ("GRCh38", "GRCh37")
GRCH37_OFFSET = 163_302  # GRCh37 = GRCh38 + 163,302 at this locus
LOCUS_FLANK = 5_000  # the annotated locus is the gene +/- 5 kb
REFSEQ_CHR1 = {"GRCh38": "NC_000001.11", "GRCh37": "NC_000001.10"}
# The primary chromosomes' lengths, as ##contig lines declare them (GRCh38: the
# Homo_sapiens_assembly38 header of tests/data/wild/callers/mutect2_chr22.vcf.gz; GRCh37: the
# hg19 header of tests/data/wild/callers/mutect1_haploid_normal.vcf). A VCF of chromosome 20
# alone still says its build. The mitochondrion is left out: GRCh38 and b37 share rCRS.
PRIMARY_CHROMOSOMES = (*map(str, range(1, 23)), "X", "Y")
CONTIG_LENGTHS = {
    build: dict(zip(PRIMARY_CHROMOSOMES, lengths, strict=True))
    for build, lengths in {
        "GRCh38": [
            248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973,
            145138636, 138394717, 133797422, 135086622, 133275309, 114364328, 107043718,
            101991189, 90338345, 83257441, 80373285, 58617616, 64444167, 46709983, 50818468,
            156040895, 57227415,
        ],
        "GRCh37": [
            249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663,
            146364022, 141213431, 135534747, 135006516, 133851895, 115169878, 107349540,
            102531392, 90354753, 81195210, 78077248, 59128983, 63025520, 48129895, 51304566,
            155270560, 59373566,
        ],
    }.items()
}  # fmt: skip


def declared_build(lengths: dict[str, int | None]) -> tuple[str, str, int] | None:
    """(build, contig, length) from the first ##contig whose declared length is that
    chromosome's length in one build, chr1 first; None when no length says."""

    def chromosome(name: str) -> str:
        refseq = {acc: "1" for acc in REFSEQ_CHR1.values()}
        return refseq.get(name, name.removeprefix("chr"))

    for name in sorted(lengths, key=lambda n: chromosome(n) != "1"):
        length = lengths[name]
        for build, table in CONTIG_LENGTHS.items():
            if length is not None and table.get(chromosome(name)) == length:
                return build, name, length
    return None


@dataclass(frozen=True)
class Domain:
    """A protein feature in transcript protein numbering (and its UniProt numbering)."""

    name: str
    start: int
    end: int
    uniprot_start: int
    uniprot_end: int


@dataclass(frozen=True)
class Transcript:
    """One transcript placed on one build. Exons in genomic order, plus strand only."""

    accession: str  # e.g. NM_001243133.2
    ensembl_id: str
    protein_id: str
    gene: str
    gene_id: str
    build: str
    chrom: str  # canonical name in the model ("chr1"); VCF naming is resolved by the reader
    exons: tuple[tuple[int, int], ...]
    cds_start: int  # first base of the start codon
    cds_end: int  # last base of the stop codon
    protein: str  # without the terminal stop
    domains: tuple[Domain, ...]
    legacy_exon_numbers: tuple[int | None, ...]
    flags: tuple[str, ...]
    uniprot_offset: int

    @property
    def tx_start(self) -> int:
        return self.exons[0][0]

    @property
    def tx_end(self) -> int:
        return self.exons[-1][1]

    @property
    def locus(self) -> tuple[int, int]:
        """The annotated window: transcript +/- 5 kb (upstream/downstream terms reach 5 kb)."""
        return self.tx_start - LOCUS_FLANK, self.tx_end + LOCUS_FLANK


@dataclass(frozen=True)
class KnownBase:
    pos: int
    ref: str


def data_file(name: str):
    """A bundled data file: from the installed ``nlrp3annot.reference_data``, or, when the
    package is imported from a source checkout (``python -c "import nlrp3annot"`` at the
    repository root), from the top-level ``reference/`` folder it is installed from."""
    try:
        return resources.files("nlrp3annot.reference_data").joinpath(name)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "reference" / name


def _data_text(name: str) -> str:
    return data_file(name).read_text(encoding="utf-8")


@cache
def load_model() -> dict:
    return json.loads(_data_text("NLRP3_MANE.json"))


@cache
def mane_transcript(build: str) -> Transcript:
    """The MANE Select transcript NM_001243133.2 on ``build`` (GRCh38 or GRCh37)."""
    if build not in BUILDS:
        raise ValueError(f"unknown build {build!r}; expected one of {BUILDS}")
    model = load_model()
    placed = model["builds"][build]
    return Transcript(
        accession=model["transcript"],
        ensembl_id=model["ensembl_transcript"],
        protein_id=model["protein_id"],
        gene=model["gene"],
        gene_id=model["gene_id"],
        build=build,
        chrom=placed["chrom"],
        exons=tuple((int(s), int(e)) for s, e in placed["exons"]),
        cds_start=int(placed["cds_start"]),
        cds_end=int(placed["cds_end"]),
        protein=model["protein"],
        domains=tuple(
            Domain(d["name"], d["start"], d["end"], d["uniprot_start"], d["uniprot_end"])
            for d in model["domains"]
        ),
        legacy_exon_numbers=tuple(model["legacy_exon_numbers"]),
        flags=tuple(model["flags"]),
        uniprot_offset=int(model["uniprot_offset"]),
    )


@cache
def known_bases(build: str) -> tuple[KnownBase, ...]:
    """Reference bases at ClinVar SNV positions on ``build``: the fingerprint of a right FASTA."""
    column = 0 if build == "GRCh38" else 1
    out = []
    for line in _data_text("known_bases.tsv").splitlines():
        if line.startswith(("#", "pos_")):
            continue
        fields = line.split("\t")
        out.append(KnownBase(int(fields[column]), fields[2]))
    return tuple(out)


def locus_window(build: str) -> tuple[int, int]:
    """The genomic window (1-based inclusive) annotated on ``build``."""
    return mane_transcript(build).locus
