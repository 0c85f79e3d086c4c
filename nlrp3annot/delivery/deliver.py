"""The delivery of a results folder: each patient's page and Phenopacket, and
``patients/index.tsv`` naming each patient's files, from one set of records (so that every
file of a patient states the same Finding). The job behind ``run``, ``demo`` and
``report``; the command line turns its options into :class:`DeliverySettings` once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlrp3annot.delivery.lab import LabProfile
from nlrp3annot.delivery.names import index_tsv
from nlrp3annot.delivery.patient_report import PageSettings, write_patient_pages
from nlrp3annot.delivery.reader import records_from_results
from nlrp3annot.delivery.record import PatientRecord
from nlrp3annot.errors import Nlrp3AnnotError


@dataclass(frozen=True)
class DeliverySettings:
    lab: LabProfile | None = None  # --lab
    diagnosis: str = ""  # --diagnosis: the cohort's, for patients the sheet gives none
    research: bool = False  # --research: markers and study group on the pages


@dataclass
class Delivered:
    pages: list[Path] = field(default_factory=list)
    packets: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (patient, why)


def chosen_records(
    records: Sequence[PatientRecord], patients: Sequence[str], table: Path
) -> list[PatientRecord]:
    """The records of the patients named (all when none), refusing an unknown ID."""
    if not patients:
        return list(records)
    by_id = {r.patient_id: r for r in records}
    unknown = [p for p in dict.fromkeys(patients) if p not in by_id]
    if unknown:
        every = list(by_id)
        raise Nlrp3AnnotError(
            f"no patient {', '.join(map(repr, unknown))} in {table} (IDs are matched exactly; "
            f"it has {len(every)} patients: {', '.join(every[:5])}"
            f"{', ...' if len(every) > 5 else ''})"
        )
    return [by_id[p] for p in dict.fromkeys(patients)]


def deliver(
    results: Path,
    settings: DeliverySettings,
    pages: Path | None = None,
    packets: Path | None = None,
    patients: Sequence[str] = (),
) -> Delivered:
    """Pages into ``pages`` (default RESULTS/patients) with the index, Phenopackets into
    ``packets`` (None: none), for the patients named (default every one)."""
    from nlrp3annot.delivery.phenopackets import write_phenopackets
    from nlrp3annot.io.atomic import atomic_write

    records = records_from_results(results, settings.diagnosis)
    chosen = chosen_records(records, patients, results / "tables" / "patients.tsv")
    folder = pages if pages is not None else results / "patients"
    done = Delivered()
    done.pages = write_patient_pages(chosen, folder, PageSettings(settings.lab, settings.research))
    if packets is not None:
        made = write_phenopackets(chosen, packets)
        done.packets, done.skipped = list(made.paths), list(made.skipped)
    without = {patient for patient, _ in done.skipped} if packets is not None else None
    index = index_tsv({r.patient_id: r.file_stem for r in chosen}, without)
    atomic_write(folder / "index.tsv", lambda handle: handle.write(index))
    return done
