"""A panel of normals: the fragment counts of samples known to be negative, kept in one
``.npz`` file, so that a lab's deep assay of a single patient is tested against the error
distribution of its own assay at every position, strand, orientation and allele (as a batch
would give it).

``nlrp3annot scan --make-panel normals/*.bam --fasta REF -o panel.npz`` writes it;
``nlrp3annot scan patient.bam --fasta REF --panel panel.npz -o out/`` uses it beside any
other samples of the run. A panel sample that does carry an allele is left out of that
allele's background like any carrier. The file holds counts only (no read, name or
sequence), the build, the targets and the read filters it was made with: a panel made
with other filters, another build or other targets is refused.

Format (numpy ``savez_compressed``): ``meta`` (JSON: format, build, contig, samples,
filters), ``positions`` (n), ``bases`` (panel x 4 cells x 4 bases x n), ``indel_depth``
(panel x 4 x n), ``indel_alleles`` ("POS:REF:ALT", k) and ``indel_counts`` (panel x k x 4).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlrp3annot.errors import InputFileError
from nlrp3annot.reads.alignments import ReadFilters
from nlrp3annot.reads.pileup import Counts

FORMAT = "nlrp3annot-panel-1"


@dataclass
class Panel:
    path: str
    build: str
    contig: str
    filters: ReadFilters
    samples: list[Counts]

    def check(self, build: str, positions: np.ndarray, filters: ReadFilters) -> None:
        """Refuse a panel that does not fit the scan (one line naming the panel)."""
        if build != self.build:
            raise InputFileError(self.path, f"is a {self.build} panel but the reads are {build}",
                                 "make a panel of normals of the same build")  # fmt: skip
        if not np.array_equal(positions, self.samples[0].positions):
            raise InputFileError(self.path, "covers other target positions than this scan",
                                 "make the panel again with this version")  # fmt: skip
        if filters != self.filters:
            raise InputFileError(
                self.path, f"was made with other read filters ({_filters_text(self.filters)}; "
                f"this scan: {_filters_text(filters)})",
                "scan with the panel's filters, or make the panel again",
            )  # fmt: skip


def _filters_text(f: ReadFilters) -> str:
    return ", ".join(f"{k}={v}" for k, v in asdict(f).items())


def save_panel(path: Path, samples: list[Counts], filters: ReadFilters) -> Path:
    alleles = sorted({k for c in samples for k in c.indels})
    counts = np.zeros((len(samples), len(alleles), 4), dtype=np.int32)
    for s, c in enumerate(samples):
        for j, allele in enumerate(alleles):
            if allele in c.indels:
                counts[s, j] = c.indels[allele]
    meta = {
        "format": FORMAT,
        "build": samples[0].build,
        "contig": samples[0].contig,
        "samples": [c.sample for c in samples],
        "filters": asdict(filters),
    }
    path = Path(path)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(
        partial,
        meta=np.array(json.dumps(meta)),
        positions=samples[0].positions,
        bases=np.stack([c.bases for c in samples]).astype(np.int32),
        indel_depth=np.stack([c.indel_depth for c in samples]).astype(np.int32),
        indel_alleles=np.array([f"{p}:{r}:{a}" for p, r, a in alleles], dtype=str),
        indel_counts=counts,
    )
    partial.replace(path)
    return path


def load_panel(path: str | Path) -> Panel:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file", "give a panel made by 'scan --make-panel'")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}")
            positions = data["positions"].astype(np.int64)
            bases = data["bases"].astype(np.int64)
            indel_depth = data["indel_depth"].astype(np.int64)
            alleles = [_allele(text) for text in data["indel_alleles"].tolist()]
            indel_counts = data["indel_counts"].astype(np.int64)
            filters = ReadFilters(**meta["filters"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(
            path, f"is not a panel of normals ({exc})", "make one with 'scan --make-panel'"
        ) from None
    samples = []
    for s, name in enumerate(meta["samples"]):
        indels = {
            allele: indel_counts[s, j] for j, allele in enumerate(alleles)
            if indel_counts[s, j].any()
        }  # fmt: skip
        near_end = np.zeros((4, len(positions)), dtype=np.int64)
        samples.append(Counts(name, str(path), meta["build"], meta["contig"], positions,
                              bases[s], near_end, indel_depth[s], indels))  # fmt: skip
    return Panel(str(path), meta["build"], meta["contig"], filters, samples)


def _allele(text: str) -> tuple[int, str, str]:
    pos, ref, alt = text.split(":")
    return int(pos), ref, alt
