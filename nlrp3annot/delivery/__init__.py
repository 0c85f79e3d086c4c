"""Per-patient delivery: one complete, typed record per patient (``record``), read from a
finished results folder (``reader``), and what is made from it: the printable patient page
(``patient_report``). The record knows nothing of HTML, so a Phenopackets writer can use it
as it is."""

from nlrp3annot.delivery.reader import records_from_results
from nlrp3annot.delivery.record import PatientRecord

__all__ = ["PatientRecord", "records_from_results"]
