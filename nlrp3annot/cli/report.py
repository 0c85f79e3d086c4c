"""``nlrp3annot report``: the patient pages (and Phenopackets) of a finished results folder.
``run`` and ``demo`` write the same pages into their folder through
:func:`patient_pages`, with the same :class:`DeliverySettings` (:func:`delivery_settings`)."""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nlrp3annot.delivery.deliver import DeliverySettings


def delivery_settings(args: argparse.Namespace) -> DeliverySettings:
    """--lab, --diagnosis and --research as typed settings, read once at the edge (a bad lab
    profile stops the command before any work)."""
    from nlrp3annot.delivery.deliver import DeliverySettings
    from nlrp3annot.delivery.lab import read_lab_profile

    lab = read_lab_profile(args.lab) if args.lab else None
    return DeliverySettings(lab=lab, diagnosis=args.diagnosis or "", research=args.research)


@dataclass(frozen=True)
class ReportSettings:
    """``report``'s arguments: the results folder, the patients (none: every one), where
    the pages (and, with --phenopackets, the Phenopackets) go, and what the pages say."""

    results: Path
    patients: tuple[str, ...]
    pages: Path  # -o (default: RESULTS_DIR/patients, where run wrote them)
    packets: Path | None
    delivery: DeliverySettings
    quiet: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportSettings:
        delivery = delivery_settings(args)
        return cls(
            results=Path(args.results),
            patients=tuple(args.patients),
            pages=Path(args.output) if args.output else Path(args.results) / "patients",
            packets=Path(args.phenopackets) if args.phenopackets else None,
            delivery=delivery,
            quiet=args.quiet,
        )


def cmd_report(args: argparse.Namespace) -> int:
    return report(ReportSettings.from_args(args))


def report(settings: ReportSettings) -> int:
    """Patient pages (and Phenopackets) of a finished results folder: every patient's, or
    those named."""
    from nlrp3annot.delivery.deliver import deliver

    folder, packets = settings.pages, settings.packets
    done = deliver(settings.results, settings.delivery, folder, packets, list(settings.patients))
    _say_skipped(done.skipped)
    if not settings.quiet:
        from nlrp3annot.cli.terminal import say, shown_folder

        say(f"{len(done.pages)} patient page(s) in {shown_folder(folder)}")
        if packets is not None:
            say(f"{len(done.packets)} Phenopacket(s) in {shown_folder(packets)}")
    return 0


def patient_pages(results: Path, settings: DeliverySettings) -> list[Path]:
    """One printable page per patient, results/patients/<file name>.html, and one GA4GH
    Phenopacket, results/phenopackets/<file name>.phenopacket.json (nlrp3annot.delivery),
    written into the staging folder so that they are part of the run's set."""
    from nlrp3annot.delivery.deliver import deliver

    done = deliver(results, settings, packets=results / "phenopackets")
    _say_skipped(done.skipped)
    return done.pages


def copy_phenopackets(folder: str | None, results: Path, quiet: bool) -> None:
    """--phenopackets DIR: the run's Phenopackets also in DIR (a registry's drop folder)."""
    if not folder:
        return
    destination = Path(folder)
    destination.mkdir(parents=True, exist_ok=True)
    made = sorted((results / "phenopackets").glob("*.phenopacket.json"))
    for path in made:
        shutil.copyfile(path, destination / path.name)
    if not quiet:
        from nlrp3annot.cli.terminal import say, shown_folder

        say(f"{len(made)} Phenopackets in {shown_folder(destination)}")


def _say_skipped(skipped: list[tuple[str, str]]) -> None:
    for patient, why in skipped:
        print(f"nlrp3annot: no Phenopacket for patient {patient!r}: {why}", file=sys.stderr)
