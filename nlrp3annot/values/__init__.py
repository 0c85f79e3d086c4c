"""The ground floor: the value objects every layer passes to the others, importing nothing of
ours outside this package. io reads and writes them, naming and patients compute on them,
reads makes them from BAMs, runner wires them (as biocommons hgvs keeps its variant values
apart from the mappers and normaliser that use them).

- :class:`Variant`: one ALT allele as the VCF writes it.
- :class:`SampleCall`: one sample's genotype and read counts at an allele.
- :class:`Record`, :class:`Skipped`: what a reader gives, and what it could not use and why.
- :class:`Annotation`: an allele named on a transcript (the table's columns, :data:`COLUMNS`).
- :class:`SiteRow`, :class:`SampleRow`: output rows read like dicts.
- :class:`AnnotationResult`: what annotating one or more files gives.
- :class:`ScanLimits`: what a scan of reads could have missed.
"""

from nlrp3annot.values.annotation import COLUMNS, Annotation, astuple, from_fields
from nlrp3annot.values.calls import CARRYING, SampleCall, is_called
from nlrp3annot.values.records import Record, Skipped
from nlrp3annot.values.result import AnnotationResult
from nlrp3annot.values.rows import (
    KNOWLEDGE_COLUMNS,
    SAMPLE_COLUMNS,
    SITE_KEYS,
    SUMMARY_COLUMNS,
    SampleRow,
    SiteRow,
    TsvLine,
    row_dict,
)
from nlrp3annot.values.scan import ScanLimits
from nlrp3annot.values.variant import Variant

__all__ = [
    "COLUMNS",
    "KNOWLEDGE_COLUMNS",
    "SAMPLE_COLUMNS",
    "SITE_KEYS",
    "SUMMARY_COLUMNS",
    "Annotation",
    "AnnotationResult",
    "Record",
    "CARRYING",
    "SampleCall",
    "SampleRow",
    "ScanLimits",
    "SiteRow",
    "Skipped",
    "TsvLine",
    "Variant",
    "astuple",
    "from_fields",
    "is_called",
    "row_dict",
]
