"""One safe file name per patient, made once for every file the delivery writes of them
(page, Phenopacket) and recorded beside the ID in ``patients/index.tsv``.

A patient ID is the lab's text: hospital record numbers carry slashes (``MRN/2024/0042``)
and a sheet can hold anything (``../../outside``). A file name made from it holds only
letters, digits, ``-``, ``_`` and ``.``, never starts with a dot, and is never a path; two
IDs that would share a name (also when only their case differs, for case-insensitive file
systems) are refused rather than numbered, so that a name always means one patient.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nlrp3annot.errors import Nlrp3AnnotError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM = 100  # well inside every file system's 255-byte limit with the longest suffix


def file_stem(patient_id: str) -> str:
    """The file name stem of one patient ID: unsafe runs become '_', leading and trailing
    '.', '_' and '-' go."""
    stem = _UNSAFE.sub("_", patient_id).strip("._-")[:MAX_STEM].rstrip("._-")
    if not stem:
        raise Nlrp3AnnotError(
            f"patient ID {patient_id!r} has no letter or digit to name its files by; "
            "give it one in the samples sheet and the clinical table"
        )
    return stem


def is_file_stem(name: str) -> bool:
    """A name :func:`file_stem` could have made (so a file name, never a path)."""
    try:
        return file_stem(name) == name
    except Nlrp3AnnotError:  # (nothing to name a file by)
        return False


def file_stems(patient_ids: Iterable[str]) -> dict[str, str]:
    """Each patient's file name stem; refused where two IDs would share one."""
    stems: dict[str, str] = {}
    owner: dict[str, str] = {}
    for pid in dict.fromkeys(patient_ids):
        stem = file_stem(pid)
        other = owner.get(stem.lower())
        if other is not None:
            raise Nlrp3AnnotError(
                f"patients {other!r} and {pid!r} would share the file name {stem!r} (only "
                "letters, digits, '-', '_' and '.' are kept, case ignored); rename one of "
                "them in the samples sheet and the clinical table"
            )
        owner[stem.lower()] = pid
        stems[pid] = stem
    return stems


def index_tsv(stems: dict[str, str], without_packet: set[str] | None = None) -> str:
    """``patients/index.tsv``: each patient ID beside the names of its files; the
    Phenopacket column is empty for the patients in ``without_packet`` (None: packets not
    written here, their names are the ones a delivery would give them)."""
    from nlrp3annot.io.cells import spreadsheet_safe

    lines = ["patient_id\tpage\tphenopacket"]
    for pid, stem in stems.items():
        shown = spreadsheet_safe(" ".join(pid.split()))  # (a tab or newline would break the row)
        packet = "" if without_packet and pid in without_packet else f"{stem}.phenopacket.json"
        lines.append(f"{shown}\t{stem}.html\t{packet}")
    return "\n".join(lines) + "\n"
