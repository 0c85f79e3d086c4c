"""The part of the report a reader sees before scrolling (1280x800): the plan's primary
question first (by default the study's: each end point's within-patient change in all
patients; or the genotype comparison under ``question = "genotype"``), then the other,
each labelled as the plan says (primary, exploratory or supporting), one bottom
line per end point in plain words (:mod:`nlrp3annot.response.report.bottom_line`), who is in
which group, and the main figure: each patient's change in the plan's first primary end
point. Everything else (the plan, the detailed answer, tables, methods) follows below."""

from __future__ import annotations

import html

import pandas as pd

from nlrp3annot.response.report.bottom_line import (
    HL_NOTE,
    bottom_lines,
    definitions_line,
    overall_line,
)
from nlrp3annot.response.report.figures import MEASURE_LABELS, change_figure

MAIN_FIGURE_SIZE = (2.55, 3.3)  # inches per panel: two panels sit beside the bottom lines
STYLE = (
    ".first{display:grid;grid-template-columns:minmax(0,1fr) 500px;gap:0 1.4em;"
    "align-items:start}.first h2{margin:.1em 0 .2em;font-size:1.3em}"
    ".overall{font-weight:bold;margin:.1em 0 .4em;font-size:15px}"
    ".first h3{margin:.3em 0 .1em;font-size:1.05em}.first .role{font-weight:normal;color:#555}"
    "ul.bottom-lines{margin:0;padding-left:1.1em;font-size:13.5px;line-height:1.3}"
    "ul.bottom-lines li{margin:0 0 .3em}"
    ".definitions{font-size:12.5px;line-height:1.3;background:#f2f4f7;padding:.4em .6em;"
    "margin:.2em 0 .3em}.first figure{margin:0}.first .note{font-size:11px;color:#555;"
    "margin:.3em 0}@media (max-width:900px){.first{grid-template-columns:1fr}}"
)


def families_in_order(question: str) -> list[str]:
    """The two families, the plan's primary question first (``question``: "study" or
    "genotype"), the other after it, labelled as it is (exploratory or supporting)."""
    primary = f"{question}_endpoints"
    return [primary, *(f for f in ("study_endpoints", "genotype_endpoints") if f != primary)]


def main_measure(
    tables: dict[str, pd.DataFrame], measurements: pd.DataFrame, question: str = "study"
) -> str | None:
    """The measure of the plan's first primary end point that has data (None: no figure)."""
    family = tables.get(f"{question}_endpoints", pd.DataFrame())
    present = set(measurements["measure"]) if "measure" in measurements else set()
    measures = list(family["measure"]) if "measure" in family else []
    return next((m for m in measures if isinstance(m, str) and m in present), None)


def first_screen(result, cohort, measurements: pd.DataFrame) -> str:
    e = html.escape
    summary = result.summary
    alpha = float(summary["alpha"])
    compared = tuple(summary["compared"])
    tables = result.tables
    question = str(summary.get("question", "study"))
    headings = {
        "study_endpoints": "The study's question: change within patients, all patients",
        "genotype_endpoints": f"Genotype: {_group(compared[0])} vs {_group(compared[1])}",
    }
    sections = []
    for family in families_in_order(question):
        heading = headings[family]
        frame = tables.get(family, pd.DataFrame())
        role = str(frame["role"].iloc[0]) if len(frame) and "role" in frame else "primary"
        items = []
        for endpoint, sentence in bottom_lines(tables, alpha, compared, family):
            title, _, rest = sentence.partition(": ")
            items.append(
                f"<li class='bottom-line' data-endpoint='{e(endpoint)}'><strong>{e(title)}"
                f"</strong>: {e(rest)}</li>"
            )
        sections += [
            f"<h3 class='question' data-family='{family}' data-role='{e(role)}'>{e(heading)} "
            f"<span class='role'>({e(role)})</span></h3>",
            f"<p class='overall'>{e(overall_line(tables, alpha, compared, family))}</p>",
            "<ul class='bottom-lines'>",
            *items,
            "</ul>",
        ]
    measure = main_measure(tables, measurements, question)
    figure = ""
    if measure is not None:
        name = MEASURE_LABELS.get(measure, measure)
        figure = change_figure(
            measurements,
            cohort.groups,
            measure,
            size=MAIN_FIGURE_SIZE,
            caption=f"{name}, the plan's first primary end point: each dot is one patient, "
            "each box the median and quartiles of a group.",
        )
    return "\n".join(
        [
            "<section class='first' id='first-screen'><div>",
            "<h2 id='bottom-line'>Bottom line</h2>",
            *sections,
            "</div><div>",
            f"<p class='definitions' id='definitions'>{e(_definitions(cohort, compared))}</p>",
            figure,
            "<p class='note'>“Could not reliably detect”: less than 80% power at two-sided "
            f"alpha {alpha:g}, before adjustment for multiplicity. {HL_NOTE} The numbers "
            "behind each line, the plan, the other figures and the tables follow below.</p>",
            "</div></section>",
        ]
    )


def _group(name: str) -> str:
    return str(name).replace("_", "-")


def _definitions(cohort, compared) -> str:
    return definitions_line(cohort.accounting, str(cohort.rule), compared)
