"""The laboratory's profile (``--lab lab.toml``): who issues and signs a patient report.

A clinical report names the laboratory, its address and accreditations, the people who
sign it with their credentials, and the lab's own disclaimers and assay performance
(ACMG/CAP, Rehm et al. 2013; ISO 15189). None of this is the tool's to invent: without a
profile the page leaves the sign-out lines blank and says the laboratory is not named.
The documented example is ``reference/lab_profile.example.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from nlrp3annot.errors import InputFileError

EXAMPLE = "lab_profile.example.toml"
_LAB_KEYS = {"name", "address", "phone", "email", "accreditation", "report_id_prefix"}
_SIGNATORY_KEYS = {"name", "credentials", "role"}
_REPORT_KEYS = {"disclaimers", "assay_performance", "methods"}


@dataclass(frozen=True)
class Signatory:
    name: str
    credentials: str  # PhD, FACMG; MD...
    role: str  # Laboratory director, Clinical scientist...


@dataclass(frozen=True)
class LabProfile:
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    accreditation: tuple[str, ...] = ()  # CLIA 99D..., CAP 12345, ISO 15189 (UKAS 1234)
    report_id_prefix: str = "NLRP3"
    signatories: tuple[Signatory, ...] = ()
    disclaimers: tuple[str, ...] = ()
    assay_performance: str = ""  # the lab's validated sensitivity/specificity, in its words
    methods: str = ""  # the lab's wet-lab method (extraction, capture/amplicon, sequencer)


def example_path() -> Path:
    from importlib.resources import files

    return Path(str(files("nlrp3annot.reference_data").joinpath(EXAMPLE)))


def _text(path: Path, table: dict, key: str, where: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise InputFileError(path, f"{where}.{key} must be text in quotes")
    return value.strip()


def _texts(path: Path, table: dict, key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputFileError(path, f'{where}.{key} must be a list of texts, e.g. ["..."]')
    return tuple(v.strip() for v in value if v.strip())


def _unknown(path: Path, table: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise InputFileError(
            path,
            f"unknown key {where}.{extra[0]} (known: {', '.join(sorted(allowed))}); see {EXAMPLE}",
        )


def read_lab_profile(path: str | Path) -> LabProfile:
    """The profile in ``path``; a one-line error naming the file and key where it is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror})", "check the path") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"is not TOML ({exc})") from None
    _unknown(path, data, {"lab", "signatory", "report"}, "")
    lab = data.get("lab")
    if not isinstance(lab, dict) or not _text(path, lab, "name", "lab"):
        raise InputFileError(path, 'has no [lab] name = "...": a report names its laboratory')
    _unknown(path, lab, _LAB_KEYS, "lab")
    report = data.get("report", {})
    _unknown(path, report, _REPORT_KEYS, "report")
    signatories = []
    for n, entry in enumerate(data.get("signatory", []), start=1):
        if not isinstance(entry, dict):
            raise InputFileError(path, "[[signatory]] must be tables with name and credentials")
        _unknown(path, entry, _SIGNATORY_KEYS, f"signatory[{n}]")
        name = _text(path, entry, "name", f"signatory[{n}]")
        if not name:
            raise InputFileError(path, f"signatory[{n}] has no name")
        signatories.append(
            Signatory(
                name,
                _text(path, entry, "credentials", f"signatory[{n}]"),
                _text(path, entry, "role", f"signatory[{n}]"),
            )
        )
    return LabProfile(
        name=_text(path, lab, "name", "lab"),
        address=_text(path, lab, "address", "lab"),
        phone=_text(path, lab, "phone", "lab"),
        email=_text(path, lab, "email", "lab"),
        accreditation=_texts(path, lab, "accreditation", "lab"),
        report_id_prefix=_text(path, lab, "report_id_prefix", "lab") or "NLRP3",
        signatories=tuple(signatories),
        disclaimers=_texts(path, report, "disclaimers", "report"),
        assay_performance=_text(path, report, "assay_performance", "report"),
        methods=_text(path, report, "methods", "report"),
    )
