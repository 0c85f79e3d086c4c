"""What annotating one or more files gives (:class:`AnnotationResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nlrp3annot.values.annotation import COLUMNS, Annotation
from nlrp3annot.values.records import Skipped
from nlrp3annot.values.rows import SUMMARY_COLUMNS, row_dict


@dataclass
class AnnotationResult:
    """What one or more files gave: site annotations (one per allele per transcript), the
    output table (site rows, or one row per sample x carried allele when the VCFs have
    samples), the patient summary, what was skipped and why, and counts."""

    annotations: list[Annotation]
    table: list[dict[str, object]]
    skipped: list[Skipped]
    patients: list[dict[str, object]] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file, one-line error)
    source: tuple[bytes, list[bytes]] | None = None  # a single file's header and locus lines

    @property
    def rows(self) -> list[Annotation]:
        return self.annotations

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame([row_dict(row) for row in self.table])
        if frame.empty:
            frame = pd.DataFrame(columns=COLUMNS)
        frame.attrs["skipped"] = [s.__dict__ for s in self.skipped]
        frame.attrs["summary"] = dict(self.summary)
        frame.attrs["patients"] = list(self.patients)
        frame.attrs["failures"] = list(self.failures)
        return frame

    def patients_frame(self):
        import pandas as pd

        return pd.DataFrame(self.patients, columns=SUMMARY_COLUMNS)
