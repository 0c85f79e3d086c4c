"""The self-contained HTML report of a comparison: plots (PNG inlined as data URIs), tables,
warnings and a methods paragraph. Every piece of user text (patient identifiers, file
names, notes) goes through html.escape, so a name like ``<script>`` stays text."""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime

import pandas as pd

GROUP_COLOURS = {
    "mutation_positive": "#c0392b",
    "mutation_negative": "#2471a3",
}
OTHER_COLOUR = "#999999"
MEASURE_LABELS = {
    "saa": "Serum amyloid A (mg/L)",
    "crp": "C-reactive protein (mg/L)",
    "diary": "Diary score",
    "esr": "ESR (mm/h)",
}
VISIT_ORDER = ["baseline", "month3", "flare"]


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img class="plot" alt="plot" src="data:image/png;base64,{data}">'


def trajectory(rows: pd.DataFrame, visits: list[str]) -> tuple[list[int], list[float], list[str]]:
    """One patient's points in visit order (then study day), whatever the row order of the
    file: an export sorted by visit name used to draw baseline -> flare -> month 3."""
    rows = rows[rows["visit"].isin(visits)].copy()
    rows["_order"] = [visits.index(v) for v in rows["visit"]]
    rows = rows.sort_values(["_order", "day"], kind="stable")
    marks = rows["censored"].fillna("").astype(str).tolist() if "censored" in rows else []
    return rows["_order"].tolist(), rows["value"].tolist(), marks or [""] * len(rows)


def spaghetti(measurements: pd.DataFrame, groups: pd.DataFrame, measure: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = measurements[measurements["measure"] == measure].merge(
        groups[["patient_id", "group"]], on="patient_id", how="left"
    )
    visits = [v for v in VISIT_ORDER if v in set(data["visit"])]
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for (_patient, group), rows in data.groupby(["patient_id", "group"], dropna=False):
        x, y, censored = trajectory(rows, visits)
        colour = GROUP_COLOURS.get(str(group), OTHER_COLOUR)
        ax.plot(x, y, marker="o", lw=1, alpha=0.8, color=colour)
        below = [i for i, mark in enumerate(censored) if mark]
        if below:  # a value at a detection limit: the true value lies beyond it
            ax.plot(
                [x[i] for i in below], [y[i] for i in below], "v", color=colour,
                markerfacecolor="white", markersize=8,
            )  # fmt: skip
    for group, colour in GROUP_COLOURS.items():
        ax.plot([], [], color=colour, label=group.replace("_", " "))
    ax.plot([], [], color=OTHER_COLOUR, label="other / no genotype")
    if (data["censored"].fillna("") != "").any():
        ax.plot([], [], "v", color="grey", markerfacecolor="white", label="at a detection limit")
    ax.set_xticks(range(len(visits)), visits)
    ax.set_ylabel(MEASURE_LABELS.get(measure, measure))
    if measure in ("saa", "crp") and (data["value"] > 0).all():
        ax.set_yscale("log")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"{MEASURE_LABELS.get(measure, measure)} per patient", fontsize=9)
    return _png(fig)


def change_boxplot(measurements: pd.DataFrame, groups: pd.DataFrame, measure: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = measurements[measurements["measure"] == measure]
    wide = data.pivot_table(index="patient_id", columns="visit", values="value", aggfunc="first")
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    if {"baseline", "month3"} <= set(wide.columns):
        change = (wide["month3"] - wide["baseline"]).dropna().rename("change").reset_index()
        change = change.merge(groups[["patient_id", "group"]], on="patient_id")
        series = [change[change["group"] == g]["change"].to_numpy() for g in GROUP_COLOURS]
        ax.boxplot(series, tick_labels=[g.replace("_", "\n") for g in GROUP_COLOURS])
        for i, (values, colour) in enumerate(zip(series, GROUP_COLOURS.values(), strict=True)):
            ax.scatter([i + 1] * len(values), values, color=colour, s=12, zorder=3)
        ax.axhline(0, color="#555", lw=0.6)
    ax.set_ylabel(f"month 3 - baseline ({MEASURE_LABELS.get(measure, measure)})", fontsize=8)
    ax.set_title(f"Change by group: {measure.upper()}", fontsize=9)
    return _png(fig)


def km_plot(survival: pd.DataFrame) -> str:
    """Kaplan-Meier curves drawn from the comparison's own survival table (the estimate is
    made once, in :mod:`nlrp3annot.compare`, and the plot shows exactly that estimate)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for group, colour in GROUP_COLOURS.items():
        rows = survival[survival["group"] == group] if not survival.empty else survival
        if rows.empty:
            continue
        ax.step(
            rows["time"],
            rows["survival"],
            where="post",
            color=colour,
            label=group.replace("_", " "),
        )
        censored = rows[rows["censored"] > 0]
        ax.plot(censored["time"], censored["survival"], "|", color=colour, markersize=8)
    ax.set_ylim(-0.02, 1.05)
    if ax.get_legend_handles_labels()[0]:  # (no curve when no patient has withdrawal data)
        ax.legend(fontsize=7, frameon=False)
    ax.set_xlabel("days after anakinra withdrawal")
    ax.set_ylabel("proportion without flare")
    ax.set_title("Time to flare after withdrawal (Kaplan-Meier)", fontsize=9)
    return _png(fig)


def _table(frame: pd.DataFrame) -> str:
    if frame is None or frame.empty:
        return "<p><em>none</em></p>"
    return frame.to_html(index=False, escape=True, na_rep="", float_format=lambda x: f"{x:.4g}")


def render(
    title: str,
    result,
    cohort,
    measurements: pd.DataFrame,
    methods: str,
    inputs: dict[str, str],
    synthetic: bool = False,
) -> str:
    """The whole report as one HTML string."""
    e = html.escape
    measures = [m for m in ("saa", "crp", "diary", "esr") if m in set(measurements["measure"])]
    counts = cohort.accounting["group"].value_counts().to_dict()
    plots = "".join(spaghetti(measurements, cohort.groups, m) for m in measures)
    boxes = "".join(change_boxplot(measurements, cohort.groups, m) for m in measures)
    warnings = result.summary.get("warnings", []) if isinstance(result.summary, dict) else []
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;font-size:12px;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px}.plot{margin:4px}"
        ".banner{background:#fde2e1;padding:.6em;border:1px solid #c0392b}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    if synthetic:
        parts.append(
            "<p class='banner'><strong>SYNTHETIC DEMO DATA</strong>: made-up "
            "patients on a test genome, not real data and not the real genome.</p>"
        )
    from nlrp3annot.response.headline import headline_table

    headline = headline_table(result.tables)
    parts += [
        "<h2 id='headline'>The answer</h2>",
        "<ul class='answer'>"
        + "".join(f"<li>{e(str(s))}</li>" for s in headline["sentence"])
        + "</ul>",
        "<div id='table-headline'>",
        _table(headline.drop(columns="sentence")),
        "</div>",
    ]
    parts += [
        f"<p>Generated {e(datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'))} by nlrp3annot. "
        "Inputs: " + ", ".join(f"{e(k)}: <code>{e(v)}</code>" for k, v in inputs.items()) + "</p>",
        "<h2>Cohort</h2><p>"
        + ", ".join(f"{e(str(k))}: {v}" for k, v in counts.items())
        + f" (group rule <code>{e(cohort.rule)}</code>)</p>",
        "<h2 id='plots'>Response over time</h2>",
        plots,
        "<h2>Change from baseline to month 3 by group</h2>",
        boxes,
        "<h2>Flare after withdrawal</h2>",
        km_plot(result.tables.get("km_survival", pd.DataFrame())),
    ]
    if warnings:
        parts.append(
            "<h2>Warnings</h2><ul>" + "".join(f"<li>{e(str(w))}</li>" for w in warnings) + "</ul>"
        )
    for name, frame in result.tables.items():
        parts += [
            f"<h2 id='table-{e(name)}'>{e(name.replace('_', ' ').capitalize())}</h2>",
            _table(frame),
        ]
    parts += [
        "<h2 id='patients'>Every patient</h2>",
        _table(cohort.accounting),
        "<h2>Genotypes</h2>",
        _table(cohort.groups),
        "<h2 id='methods'>Methods</h2>",
        f"<p>{e(methods)}</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
