"""The self-contained HTML report of a comparison: figures (inline SVG, from
:mod:`nlrp3annot.response.report.figures`), tables,
warnings and a methods paragraph. Every piece of user text (patient identifiers, file
names, notes) goes through html.escape, so a name like ``<script>`` stays text."""

from __future__ import annotations

import html
import math
import os
from datetime import UTC, datetime

import pandas as pd

from nlrp3annot.response.report.display import display_frame
from nlrp3annot.response.report.figures import (
    change_figure,
    km_figure,
    protein_figure,
    trajectory_figure,
)
from nlrp3annot.response.report.first_screen import (
    STYLE,
    families_in_order,
    first_screen,
    main_measure,
)


def _protein(groups: pd.DataFrame) -> str:
    from nlrp3annot.genome.reference import mane_transcript

    transcript = mane_transcript("GRCh38")  # the protein and its domains are the same on GRCh37
    return protein_figure(
        groups, transcript.domains, len(transcript.protein), transcript.protein_id
    )


def _generated() -> datetime:
    """Now, or SOURCE_DATE_EPOCH where set (the reproducible-builds convention, which
    matplotlib also follows for the figures' date): two runs then give the same page."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)


def _table(frame: pd.DataFrame, level: float = 0.95) -> str:
    """A table with its columns named for reading (the TSV keeps the machine names)."""
    if frame is None or frame.empty:
        return "<p><em>none</em></p>"
    frame = frame.apply(_rounded)  # floats in text columns too: no 0.5814475652540858
    return display_frame(frame, level).to_html(
        index=False, escape=True, na_rep="", float_format=lambda x: f"{x:.4g}"
    )


def _rounded(column: pd.Series) -> pd.Series:
    """A column of mixed values (an object column holding floats among text or None) with
    its floats rounded for reading as the float columns are (4 significant digits)."""
    if column.dtype != object:
        return column
    return column.map(lambda v: f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else v)


def render(
    title: str,
    result,
    cohort,
    measurements: pd.DataFrame,
    methods: str,
    inputs: dict[str, str],
    synthetic: bool = False,
    plan_lines: list[str] | None = None,
    test_locus: bool = False,
    plan_title: str = "",
) -> str:
    """The whole report as one HTML string: first the bottom lines, who is who and the main
    figure (:mod:`nlrp3annot.response.report.first_screen`); then the plan, the answer in
    detail (headline, responders, sensitivity to the group rule, power), figures, tables
    and methods."""
    e = html.escape
    level = 1 - float(result.summary["alpha"])
    measures = [m for m in ("saa", "crp", "diary", "esr") if m in set(measurements["measure"])]
    main = main_measure(result.tables, measurements, str(result.summary.get("question", "study")))
    counts = cohort.accounting["group"].value_counts().to_dict()
    plots = "".join(trajectory_figure(measurements, cohort.groups, m) for m in measures)
    boxes = "".join(change_figure(measurements, cohort.groups, m) for m in measures if m != main)
    if main is not None:
        boxes = (
            f"<p>The {e(main.upper() if main != 'diary' else 'diary score')}'s figure is at "
            "the <a href='#first-screen'>top of the report</a>.</p>" + boxes
        )
    warnings = result.summary.get("warnings", []) if isinstance(result.summary, dict) else []
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:1em 2em;max-width:1100px}"
        "h1{font-size:1.6em;margin:.2em 0 .3em}"
        "table{border-collapse:collapse;font-size:12px;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px}.plot{margin:4px;display:inline-block}"
        "figure svg{max-width:100%;height:auto}figcaption{font-size:11px;color:#555}"
        ".banner{background:#fde2e1;padding:.3em .6em;border:1px solid #c0392b;margin:.3em 0}"
        f"{STYLE}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    if synthetic:
        parts.append(
            "<p class='banner'><strong>SYNTHETIC DEMO DATA</strong>: made-up "
            "patients on a test genome, not real data and not the real genome.</p>"
        )
    elif test_locus:  # a run of real-looking data genotyped against the test sequence
        parts.append(
            "<p class='banner' id='test-genome'><strong>TEST GENOME</strong>: the variants were "
            "genotyped against the nlrp3annot TEST sequence, not the human genome; research "
            "use only.</p>"
        )
    parts.append(first_screen(result, cohort, measurements))
    parts += _answer(result, plan_lines or [], level, plan_title)
    parts += [
        f"<p>Generated {e(_generated().strftime('%Y-%m-%d %H:%M UTC'))} by nlrp3annot. "
        "Inputs: " + ", ".join(f"{e(k)}: <code>{e(v)}</code>" for k, v in inputs.items()) + "</p>",
        "<h2>Cohort</h2><p>"
        + ", ".join(f"{e(str(k))}: {v}" for k, v in counts.items())
        + f" (group rule <code>{e(cohort.rule)}</code>)</p>",
        "<h2 id='plots'>Response over time</h2>",
        plots,
        "<h2 id='changes'>Change by group (ratios on a log scale for SAA, CRP, ESR)</h2>",
        boxes,
        "<h2 id='flare'>Flare after withdrawal</h2>",
        km_figure(
            result.tables.get("km_survival", pd.DataFrame()),
            result.tables.get("time_to_flare"),
            result.tables.get("logrank"),
        ),
        "<h2 id='variants'>Patients' NLRP3 variants on the protein</h2>",
        _protein(cohort.groups),
    ]
    if warnings:
        parts.append(
            "<h2>Warnings</h2><ul>" + "".join(f"<li>{e(str(w))}</li>" for w in warnings) + "</ul>"
        )
    for name, frame in result.tables.items():
        parts += [
            f"<h2 id='table-{e(name)}'>{e(name.replace('_', ' ').capitalize())}</h2>",
            _table(frame, level),
        ]
    parts += [
        "<h2 id='patients'>Every patient</h2>",
        _table(cohort.accounting, level),
        "<h2>Genotypes</h2>",
        _table(cohort.groups, level),
        "<h2 id='methods'>Methods</h2>",
        f"<p>{e(methods)}</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _answer(result, plan_lines: list[str], level: float, plan_title: str = "") -> list[str]:
    """Below the first screen, above the figures: what was planned, and the planned answer
    with its numbers."""
    from nlrp3annot.response.report.headline import RATIO_OF_RATIOS, headline_table
    from nlrp3annot.response.stats.sensitivity import side_by_side

    e = html.escape
    summary = result.summary
    first, second = summary["compared"]
    study = headline_table(result.tables, summary["alpha"], "study_endpoints")
    headline = headline_table(result.tables, summary["alpha"], "genotype_endpoints")
    roles = {
        name: str(result.tables[name]["role"].iloc[0])
        for name in ("study_endpoints", "genotype_endpoints")
        if name in result.tables and len(result.tables[name])
    }
    responders = result.tables.get("responder_comparison", pd.DataFrame())
    genotype = result.tables.get("genotype_endpoints", pd.DataFrame())
    blocks = {  # the plan's primary question first, as on the first screen
        "study_endpoints": [
            "<h3 id='study-question'>The study's question: within-patient change, all patients "
            f"({e(roles.get('study_endpoints', ''))})</h3>",
            "<ul class='answer study'>"
            + "".join(f"<li>{e(str(x))}</li>" for x in study["sentence"])
            + "</ul>",
            "<div id='table-study'>",
            _table(study.drop(columns="sentence"), level),
            "</div>",
        ],
        "genotype_endpoints": [
            f"<h3 id='genotype-question'>Genotype comparison, {e(first)} vs {e(second)} "
            f"({e(roles.get('genotype_endpoints', ''))})</h3>",
            "<ul class='answer'>"
            + "".join(f"<li>{e(str(x))}</li>" for x in headline["sentence"])
            + "</ul>",
            f"<p><small>{e(RATIO_OF_RATIOS.format(a=first, b=second))} Each interval inverts "
            f"the test whose unadjusted P is in the tables; {e(_which_p(roles, genotype))}"
            "</small></p>",
            "<div id='table-headline'>",
            _table(headline.drop(columns="sentence"), level),
            "</div>",
        ],
    }
    order = families_in_order(str(summary.get("question", "study")))
    return [
        "<h2 id='plan'>The analysis plan"
        + (f": <span id='plan-title'>{e(plan_title)}</span>" if plan_title else "")
        + "</h2><ul class='plan'>",
        *(f"<li>{e(line)}</li>" for line in plan_lines),
        "</ul>",
        "<h2 id='headline'>The answer in detail</h2>",
        *(part for family in order for part in blocks[family]),
        *_secondary(result, level),
        "<h3 id='responders'>Responders</h3>",
        _table(responders, level),
        "<h4 id='durability'>Durability and retreatment (described, not tested)</h4>",
        _table(result.tables.get("durability", pd.DataFrame()), level),
        "<h3 id='sensitivity'>Sensitivity to the group rule (the genotype comparison under "
        "each rule: estimate (95% CI); P as the plan adjusts it)</h3>",
        _table(side_by_side(result.tables.get("sensitivity", pd.DataFrame())), level),
        *_power(summary),
    ]


def _power(summary: dict) -> list[str]:
    """What the study could detect: under the primary heading only the plan's primary
    family's lines; when that family has none (the study's within-patient tests), the
    genotype comparison's under a heading naming it and its role, with why."""
    e = html.escape
    primary = summary.get("primary_endpoints", {})
    about = primary.get("power_family", primary.get("table", ""))
    if about == primary.get("table"):  # the primary family's own lines
        question = "the study's" if about == "study_endpoints" else "the genotype comparison"
        heading = f"What the study could detect (the primary question, {question})"
        lines, note = primary.get("power", []), ""
    else:
        family = summary.get(about, {})
        heading = (
            f"What the genotype comparison could detect ({family.get('role', '')}, not the "
            "primary question)"
        )
        lines, note = family.get("power", []), primary.get("power_note", "")
    if not lines:
        note = note or "No detectable effect could be computed for these end points."
    return [
        f"<h3 id='power' data-family='{e(about)}'>{e(heading)}</h3>",
        f"<p class='power-note'>{e(note)}</p>" if note else "",
        "<ul class='power'>",
        *(f"<li>{e(line)}</li>" for line in lines),
        "</ul>",
    ]


def _which_p(roles: dict[str, str], family: pd.DataFrame) -> str:
    """Which P the genotype comparison's sentences decide on, as its role (the plan's
    question) and the plan's multiplicity say: adjusted only when it is the primary family
    and the plan adjusts."""
    if roles.get("genotype_endpoints") != "primary":
        return (
            "this comparison is exploratory (the plan's primary question is the study's): each "
            "P is unadjusted, at alpha, with no correction for multiplicity."
        )
    from nlrp3annot.response.report.headline import unadjusted

    if len(family) and unadjusted(str(family["adjustment"].iloc[0])):
        return "each P is unadjusted, at alpha, as the plan's multiplicity (none) says."
    return "the P that decides is the one adjusted as the plan says."


def _secondary(result, level: float) -> list[str]:
    """A sentence for each secondary end point of the plan (time to flare when secondary,
    within-group tests when tested), not only its table values; nothing when it has none."""
    from nlrp3annot.response.report.headline import headline_table

    e = html.escape
    secondary = headline_table(result.tables, result.summary["alpha"], "secondary_endpoints")
    if secondary.empty:
        return []
    return [
        "<h3 id='secondary'>Secondary end points (each at alpha, not adjusted)</h3>",
        "<ul class='secondary'>"
        + "".join(f"<li>{e(str(x))}</li>" for x in secondary["sentence"])
        + "</ul>",
    ]
