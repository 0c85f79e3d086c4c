"""The comparison job: genotype summary + clinical table + samples sheet -> results folder.

Writes ``summary.json`` (every number, machine-readable), ``tables/*.tsv`` (tidy tables) and
a self-contained ``report.html``. Statistics come from :mod:`nlrp3annot.compare`; this module
only reads, joins and writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from nlrp3annot.io.writers import atomic_write
from nlrp3annot.response.plan import AnalysisPlan, default_plan, describe_plan, plan_to_dict
from nlrp3annot.response.stats.sensitivity import sensitivity_table


@dataclass
class AnalysisOutput:
    folder: Path
    report: Path
    summary: dict


HASH_MAX_BYTES = 2 * 1024**3  # larger inputs (a genome FASTA) are named by size and time


def provenance(
    inputs: dict[str, str | Path], more: dict[str, str | Path], command: list[str] | None = None
) -> dict:
    """What a reader needs to reproduce the numbers: the nlrp3annot version and command
    line, the SHA-256 of every input (the tables, and the VCFs and FASTA of a run; a file
    over 2 GiB by its size and modification time), the ClinVar table used and the library
    versions."""
    import os
    import sys

    from nlrp3annot import __version__
    from nlrp3annot.io.output_set import file_sha256
    from nlrp3annot.knowledge.clinvar import load_clinvar
    from nlrp3annot.response.stats.compare import software_versions

    def identity(path: str | Path) -> str:
        size = os.path.getsize(path)
        if size > HASH_MAX_BYTES:
            return f"size {size}, modified {os.path.getmtime(path):.0f} (not hashed: over 2 GiB)"
        return file_sha256(path)

    table = load_clinvar()
    return {
        "nlrp3annot": __version__,
        "command": list(command) if command else list(sys.argv),
        "inputs_sha256": {role: identity(path) for role, path in {**inputs, **more}.items()},
        "clinvar": {
            "table": Path(table.source).name,
            "date": table.date,
            "release": table.release,
        },
        "software": software_versions(),
    }


def _listed(paths) -> list:
    return [paths] if isinstance(paths, str | Path) else list(paths)


def _roles(role: str, paths) -> dict:
    """One provenance entry per file: ``genotypes``, or ``genotypes 1``, ``genotypes 2``..."""
    listed = _listed(paths)
    if len(listed) == 1:
        return {role: listed[0]}
    return {f"{role} {k}": path for k, path in enumerate(listed, start=1)}


def _recorded(path: str | Path, out: Path, redact=None) -> str:
    """A path as the results name it: relative to the results folder when inside it (the
    folder is written elsewhere first and may be moved later); with --redact, an input's
    path as its pseudonym (labs name files after patients), while a file of the results
    folder itself (``annotation/patients.tsv``) is named from no ID and keeps its name."""
    try:
        return Path(path).resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return str(path) if redact is None else str(redact.path(str(path)))


def _jsonable(value):
    import math

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _not_genotyped(accounting) -> list[str]:
    """The warning of ``--genotyped-only``: how many clinical patients had no genotype and
    were left out (listed in tables/inclusion.tsv and tables/patients.tsv)."""
    left = accounting[accounting["in_clinical"] & ~accounting["in_genotypes"]]
    if left.empty:
        return []
    clinical = int(accounting["in_clinical"].sum())
    shown = ", ".join(sorted(left["patient_id"].astype(str))[:3])
    more = f" and {len(left) - 3} more" if len(left) > 3 else ""
    return [
        f"--genotyped-only: {len(left)} of {clinical} clinical patients have no genotype "
        f"({shown}{more}) and are not compared; see tables/inclusion.tsv"
    ]


def run_analysis(
    genotypes: str | Path | list[str | Path],
    clinical: str | Path,
    samples: str | Path,
    out: str | Path,
    rule: str | None = None,
    title: str = "NLRP3 genotype and anakinra response",
    synthetic: bool = False,
    redact=None,
    more_inputs: dict[str, str | Path] | None = None,
    command: list[str] | None = None,
    plan: AnalysisPlan | None = None,
    genotyping: dict | None = None,
    genotyped_only: bool = False,
) -> AnalysisOutput:
    """Join, compare as the ``plan`` says (default: the NEJM 2006 plan; ``rule`` overrides
    its group rule), repeat the primary analysis under the plan's sensitivity group rules,
    and write tables, ``summary.json`` and ``report.html``. ``genotypes``: one patient
    summary of ``annotate``, or several (read as one); ``genotyping``: what ``run``/``demo``
    genotyped against (nlrp3annot.delivery.provenance), kept in summary.json;
    ``genotyped_only``: compare the genotyped patients however few of the clinical ones
    they are (``--genotyped-only``), the others listed as not genotyped."""
    from nlrp3annot.response.report.html_report import render
    from nlrp3annot.response.report.methods import methods_text
    from nlrp3annot.response.stats.compare import run_comparison
    from nlrp3annot.response.tables.clinical import read_clinical, read_samples
    from nlrp3annot.response.tables.cohort import join, read_genotypes

    out = Path(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    genotype_table = read_genotypes(genotypes)
    clinical_table = read_clinical(clinical)
    sheet = read_samples(samples)
    if redact is not None:  # pseudonyms from here on: no output can hold a raw ID
        genotype_table = redact.frame(genotype_table)
        clinical_table.measurements = redact.frame(clinical_table.measurements)
        sheet.table = redact.frame(sheet.table)
        for row in [*clinical_table.skipped, *sheet.skipped]:
            row["reason"] = redact.text(str(row.get("reason", "")))
            row["file"] = redact.path(row.get("file"))
    measurements = clinical_table.measurements
    plan = plan if plan is not None else default_plan()
    rule = rule or plan.group_rule
    plan = replace(plan, group_rule=rule, sensitivity_group_rules=tuple(
        r for r in plan.sensitivity_group_rules if r != rule))  # fmt: skip
    non_blood = plan.non_blood_negative == "negative"  # the tissue rule's plan key
    cohort = join(genotype_table, sheet.table, measurements, rule, non_blood, genotyped_only)
    result = run_comparison(
        measurements, cohort.groups[["patient_id", "group", "status_reason"]], cohort.events,
        plan=plan,
    )  # fmt: skip
    if genotyped_only:
        result.summary.setdefault("warnings", [])[:0] = _not_genotyped(cohort.accounting)
    sensitivity = sensitivity_table(
        result,
        plan,
        lambda r: join(genotype_table, sheet.table, measurements, r, non_blood, genotyped_only),
        measurements,
    )
    result.tables["sensitivity"] = sensitivity
    result.summary["sensitivity"] = _jsonable(sensitivity.to_dict("records"))
    methods = (
        "Genotypes: NLRP3 variants named on NM_001243133.2 (MANE Select) by nlrp3annot; a "
        "sample's own protein change combines variants in one codon on one haplotype; "
        "mosaic calls use a one-sided exact binomial test of the ALT allele fraction against "
        "0.5 with a minimum depth; patient status follows the documented rule and groups "
        f"follow the '{rule}' rule (VUS and not-assessable patients are reported, not pooled "
        "with negatives). " + methods_text(result, group_rule=rule)
    )
    inputs = {
        "genotypes": ", ".join(_recorded(g, out, redact) for g in _listed(genotypes)),
        "clinical": _recorded(clinical, out, redact),
        "samples": _recorded(samples, out, redact),
    }
    tables = dict(result.tables)
    tables["patients"] = cohort.accounting
    tables["groups"] = cohort.groups
    tables["measurements"] = measurements
    tables["samples"] = sheet.table  # tissue, treatment, dose, days: the patient pages' source
    import pandas as pd

    skipped_rows = list(clinical_table.skipped) + list(sheet.skipped)
    tables["clinical_skipped"] = pd.DataFrame(
        skipped_rows, columns=["file", "row", "measure", "reason"]
    )
    from nlrp3annot.io.writers import spreadsheet_safe_frame

    for name, frame in tables.items():  # (IDs that look like formulas are made inert)
        safe = spreadsheet_safe_frame(frame)
        atomic_write(
            out / "tables" / f"{name}.tsv", lambda h, f=safe: f.to_csv(h, sep="\t", index=False)
        )
    summary = {
        "title": title,
        "synthetic": synthetic,
        "inputs": inputs,
        "group_rule": rule,
        "plan": plan_to_dict(plan),
        "groups": cohort.accounting["group"].value_counts().to_dict(),
        "patients": cohort.accounting.to_dict("records"),
        **({"genotyping": genotyping} if genotyping is not None else {}),
        "clinical_layout": clinical_table.layout,
        "clinical_skipped": tables["clinical_skipped"].to_dict("records"),
        "comparison": result.summary,
        "methods": methods,
        "provenance": provenance(
            {**_roles("genotypes", genotypes), "clinical": clinical, "samples": samples},
            more_inputs or {},
            command,
        ),
    }
    summary = _jsonable(summary)
    atomic_write(out / "summary.json", lambda h: json.dump(summary, h, indent=1))
    test_locus = bool((genotyping or {}).get("test_locus"))
    page = render(title, result, cohort, measurements, methods, inputs, synthetic,
                  describe_plan(plan), test_locus, plan.title)  # fmt: skip
    report = out / "report.html"
    atomic_write(report, lambda h: h.write(page))
    return AnalysisOutput(out, report, summary)
