"""The report's figures, as inline SVG with their text kept as text (so a reader can search
it, a screen reader can read it, and a test can find the legend, the risk table and every n
in the page's DOM).

- :func:`trajectory_figure`: each patient's values over the visits, ordered by visit and
  study day, values at a detection limit drawn with an open triangle;
- :func:`change_figure`: per group, each patient's ratio (SAA, CRP, ESR; log scale) or change
  (diary) for both end points, as a box without outliers and every patient once as a
  jittered point, n under each box;
- :func:`km_figure`: Kaplan-Meier curves (solid and dashed, so neither hides the other) with
  censor ticks, n and median in the legend, the log-rank P in the panel, and the number at
  risk under the plot;
- :func:`protein_figure`: the NLRP3 protein with its PYD, FISNA, NACHT and LRR domains and each
  patient's protein change stacked at its residue, marked germline, mosaic or VUS.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nlrp3annot.response.report.headline import VISIT_WORDS
from nlrp3annot.response.stats.ratios import RATIO_MEASURES

GROUP_COLOURS = {"mutation_positive": "#c0392b", "mutation_negative": "#2471a3"}
GROUP_STYLES = {"mutation_positive": "-", "mutation_negative": "--"}
OTHER_COLOUR = "#999999"
MEASURE_LABELS = {
    "saa": "Serum amyloid A (mg/L)",
    "crp": "C-reactive protein (mg/L)",
    "diary": "Diary score",
    "esr": "ESR (mm/h)",
}
VISIT_ORDER = ["baseline", "month3", "flare"]
STATUS_MARKERS = {  # status: (label, marker, face colour, edge colour)
    "positive_germline": ("germline", "o", "#c0392b", "#c0392b"),
    "positive_mosaic": ("mosaic", "D", "white", "#d35400"),
    "vus_only": ("VUS", "s", "#bbbbbb", "#555555"),
    "not_assessable": ("not assessable", "X", "#dddddd", "#555555"),
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text in the SVG
    matplotlib.rcParams["svg.hashsalt"] = "nlrp3annot"  # stable element ids
    import matplotlib.pyplot as plt

    return plt


def _svg(fig, figure_id: str, caption: str) -> str:
    """The figure as an inline <figure> with an <svg> and a caption."""
    import html

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prologue and DOCTYPE: it sits inside HTML
    # Element ids are unique per SVG file, not per page: prefix them with the figure's id.
    prefix = f"{figure_id}-"
    svg = svg.replace(' id="', f' id="{prefix}').replace("url(#", f"url(#{prefix}")
    svg = svg.replace('xlink:href="#', f'xlink:href="#{prefix}')
    return (
        f'<figure class="plot" id="{html.escape(figure_id)}">{svg}'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _group_word(group: str) -> str:
    return group.replace("_", "-")


def _plain(value: float) -> str:
    """A number in plain decimals, up to 3 significant digits: 0.05, 20, 1000 (never 1e-05)."""
    return np.format_float_positional(value, precision=3, unique=False, fractional=False,
                                      trim="-")  # fmt: skip


def fold_label(value: float, _position: object = None) -> str:
    """A ratio as a clinician reads it: below 1 as a percent of the earlier value (20%),
    from 1 up as a fold (1x, 5x)."""
    if value <= 0 or not math.isfinite(value):
        return ""
    return f"{_plain(value)}x" if value >= 1 else f"{_plain(100 * value)}%"


def _log_axis(ax, label) -> None:
    """A log y axis whose ticks are labelled by ``label`` (fold_label for ratios, plain
    numbers for concentrations) instead of matplotlib's 10^k: ticks at 1, 2 and 5 per decade
    over a short span, one per decade over a long one, and no labelled minor ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    low, high = ax.get_ylim()
    decades = math.log10(high / low) if low > 0 and high > low else 1.0
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(label))
    ax.yaxis.set_minor_formatter(NullFormatter())


# --------------------------------------------------------------------------------------------
# Trajectories


def trajectory(rows: pd.DataFrame, visits: list[str]) -> tuple[list[int], list[float], list[str]]:
    """One patient's points in visit order (then study day), whatever the row order of the
    file: an export sorted by visit name used to draw baseline -> flare -> month 3."""
    rows = rows[rows["visit"].isin(visits)].copy()
    rows["_order"] = [visits.index(v) for v in rows["visit"]]
    rows = rows.sort_values(["_order", "day"], kind="stable")
    marks = rows["censored"].fillna("").astype(str).tolist() if "censored" in rows else []
    return rows["_order"].tolist(), rows["value"].tolist(), marks or [""] * len(rows)


def trajectory_figure(measurements: pd.DataFrame, groups: pd.DataFrame, measure: str) -> str:
    plt = _pyplot()
    data = measurements[measurements["measure"] == measure].merge(
        groups[["patient_id", "group"]], on="patient_id", how="left"
    )
    visits = [v for v in VISIT_ORDER if v in set(data["visit"])]
    fig, ax = plt.subplots(figsize=(5.4, 3.6))
    for (_patient, group), rows in data.groupby(["patient_id", "group"], dropna=False):
        x, y, censored = trajectory(rows, visits)
        colour = GROUP_COLOURS.get(str(group), OTHER_COLOUR)
        ax.plot(x, y, ls=GROUP_STYLES.get(str(group), ":"), marker="o", ms=3, lw=1, alpha=0.8,
                color=colour)  # fmt: skip
        below = [i for i, mark in enumerate(censored) if mark]
        if below:  # a value at a detection limit: the true value lies beyond it
            ax.plot([x[i] for i in below], [y[i] for i in below], "v", color=colour,
                    markerfacecolor="white", markersize=8)  # fmt: skip
    counts = data.drop_duplicates("patient_id")["group"].value_counts()
    for group, colour in GROUP_COLOURS.items():
        ax.plot([], [], ls=GROUP_STYLES[group], color=colour,
                label=f"{_group_word(group)} (n={int(counts.get(group, 0))})")  # fmt: skip
    others = int(
        len(data.drop_duplicates("patient_id")) - sum(counts.get(g, 0) for g in GROUP_COLOURS)
    )
    if others:
        ax.plot([], [], ls=":", color=OTHER_COLOUR, label=f"other / no genotype (n={others})")
    if (data["censored"].fillna("") != "").any():
        ax.plot([], [], "v", color="grey", markerfacecolor="white", label="at a detection limit")
    ax.set_xticks(range(len(visits)), [VISIT_WORDS.get(v, v) for v in visits])
    ax.set_xlabel("visit (points in study-day order)")
    ax.set_ylabel(MEASURE_LABELS.get(measure, measure))
    if measure in RATIO_MEASURES and (data["value"] > 0).all():
        _log_axis(ax, lambda value, _position=None: _plain(value) if value > 0 else "")
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.set_title(f"{MEASURE_LABELS.get(measure, measure)} per patient", fontsize=9)
    return _svg(fig, f"fig-trajectory-{measure}", f"{measure.upper()}: every patient's values")


# --------------------------------------------------------------------------------------------
# Change per group


def patient_changes(
    measurements: pd.DataFrame, measure: str, earlier: str, later: str
) -> pd.DataFrame:
    """Per patient with both visits: the ratio later / earlier (or the change, for measures
    not analysed as ratios) and whether a value at a detection limit entered it."""
    data = measurements[measurements["measure"] == measure]
    values = data.pivot_table(index="patient_id", columns="visit", values="value", aggfunc="first")
    at_limit = data["visit"].isin([earlier, later]) & (data["censored"].fillna("") != "")
    censored_patients = set(data.loc[at_limit, "patient_id"])
    if earlier not in values.columns or later not in values.columns:
        return pd.DataFrame(columns=["patient_id", "effect", "censored"])
    both = values[[earlier, later]].dropna()
    if measure in RATIO_MEASURES:
        both = both[(both[earlier] > 0) & (both[later] > 0)]
        effect = both[later] / both[earlier]
    else:
        effect = both[later] - both[earlier]
    return pd.DataFrame(
        {
            "patient_id": both.index,
            "effect": effect.to_numpy(),
            "censored": [p in censored_patients for p in both.index],
        }
    )


def change_figure(
    measurements: pd.DataFrame,
    groups: pd.DataFrame,
    measure: str,
    size: tuple[float, float] = (3.3, 3.6),
    caption: str | None = None,
) -> str:
    """``size``: (width of one panel, height) in inches; the report's main figure is drawn
    narrower, to sit beside the bottom lines at its natural size."""
    plt = _pyplot()
    present = set(measurements["visit"])
    ends = [(a, b) for a, b in (("baseline", "month3"), ("month3", "flare")) if {a, b} <= present]
    ratio = measure in RATIO_MEASURES
    panels = max(len(ends), 1)
    fig, axes = plt.subplots(1, panels, figsize=(size[0] * panels, size[1]), squeeze=False)
    jitter = np.random.default_rng(0)  # the same picture every run
    censored = False
    for ax, (earlier, later) in zip(axes[0], ends, strict=False):
        changes = patient_changes(measurements, measure, earlier, later)
        censored |= bool(changes["censored"].any())
        effects = changes.merge(groups[["patient_id", "group"]], on="patient_id")
        series = [effects[effects["group"] == g] for g in GROUP_COLOURS]
        labels = [
            f"{_group_word(g)}\n(n={len(s)})" for g, s in zip(GROUP_COLOURS, series, strict=True)
        ]
        ax.boxplot([s["effect"].to_numpy(float) for s in series], showfliers=False, widths=0.5,
                   tick_labels=labels, medianprops={"color": "black"})  # fmt: skip
        for i, (rows, colour) in enumerate(zip(series, GROUP_COLOURS.values(), strict=True)):
            x = i + 1 + jitter.uniform(-0.15, 0.15, len(rows))
            solid = ~rows["censored"].to_numpy(bool)
            ax.scatter(x[solid], rows["effect"][solid], color=colour, s=14, zorder=3)
            ax.scatter(x[~solid], rows["effect"][~solid], facecolor="white", edgecolor=colour,
                       marker="v", s=22, zorder=3)  # fmt: skip
        ax.axhline(1 if ratio else 0, color="#555", lw=0.6)
        if ratio:
            _log_axis(ax, fold_label)
        first, then = VISIT_WORDS.get(earlier, earlier), VISIT_WORDS.get(later, later)
        words = f"{then} as % or fold of {first}" if ratio else f"change {then} - {first}"
        ax.set_ylabel(words, fontsize=8)
        ax.set_title(f"{VISIT_WORDS.get(earlier, earlier)} to {VISIT_WORDS.get(later, later)}",
                     fontsize=9)  # fmt: skip
        ax.tick_params(axis="x", labelsize=7)
    if censored:
        axes[0][0].scatter([], [], facecolor="white", edgecolor="grey", marker="v",
                           label="a value at a detection limit")  # fmt: skip
        axes[0][0].legend(fontsize=7, frameon=False, loc="best")
    fig.suptitle(MEASURE_LABELS.get(measure, measure), fontsize=9)
    fig.tight_layout()
    kind = "ratio (log scale)" if ratio else "change"
    caption = caption or f"{measure.upper()}: {kind} per patient and group"
    return _svg(fig, f"fig-change-{measure}", caption)


# --------------------------------------------------------------------------------------------
# Kaplan-Meier


def number_at_risk(rows: pd.DataFrame, time: float) -> int:
    """Patients still followed and without a flare just before ``time``, from a group's
    survival table (one row per time with at_risk at that time)."""
    later = rows[rows["time"] >= time]
    return int(later["at_risk"].iloc[0]) if not later.empty else 0


def _median_words(row: pd.Series | None) -> str:
    if row is None:
        return ""
    if bool(row.get("median_reached", True)) and math.isfinite(float(row["median"])):
        return f"median {float(row['median']):g} d"
    return "median not reached"


def km_figure(
    survival: pd.DataFrame, km: pd.DataFrame | None = None, logrank: pd.DataFrame | None = None
) -> str:
    """Kaplan-Meier curves from the comparison's own survival table (the estimate is made
    once, in :mod:`nlrp3annot.response.stats.survival`; the plot shows exactly that estimate)."""
    plt = _pyplot()
    fig, (ax, risk) = plt.subplots(2, 1, figsize=(5.6, 4.6), sharex=True,
                                   gridspec_kw={"height_ratios": [3.2, 1]})  # fmt: skip
    km = km if km is not None else pd.DataFrame()
    shown = []
    for group, colour in GROUP_COLOURS.items():
        rows = survival[survival["group"] == group] if not survival.empty else survival
        if rows.empty:
            continue
        shown.append((group, rows))
        summary = (
            km[km["group"] == group].iloc[0]
            if "group" in km and (km["group"] == group).any()
            else None
        )
        n = int(rows["at_risk"].iloc[0])
        label = f"{_group_word(group)} (n={n}, {_median_words(summary)})"
        ax.step(rows["time"], rows["survival"], where="post", color=colour, lw=1.8,
                ls=GROUP_STYLES[group], label=label,
                zorder=3 if group == "mutation_negative" else 2)  # fmt: skip
        censored = rows[rows["censored"] > 0]
        ax.plot(censored["time"], censored["survival"], "+", color=colour, markersize=9,
                markeredgewidth=1.5, zorder=4)  # fmt: skip
    if any((rows["censored"] > 0).any() for _, rows in shown):
        ax.plot([], [], "+", color="grey", markersize=9, markeredgewidth=1.5,
                label="+ censored (no flare by end of follow-up)")  # fmt: skip
    ax.set_ylim(-0.03, 1.05)
    title = "Time to flare after anakinra withdrawal (Kaplan-Meier)"
    if logrank is not None and not logrank.empty and math.isfinite(float(logrank["p"].iloc[0])):
        row = logrank.iloc[0]
        title = f"log-rank P = {float(row['p']):.3g} ({str(row['method']).split(' ')[0]})"
        if row.get("p_permutation") is not None and math.isfinite(float(row["p_permutation"])):
            title += f"; permutation P (secondary) = {float(row['p_permutation']):.3g}"
    if ax.get_legend_handles_labels()[0]:  # no curve when no patient has withdrawal data
        # Above the curves, not over them: a legend inside the axes hides some curve.
        ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0),
                  title=title, title_fontsize=7, alignment="left")  # fmt: skip
    ax.set_ylabel("proportion without flare")
    fig.suptitle("Time to flare after anakinra withdrawal (Kaplan-Meier)", fontsize=9)
    # The risk table: the number at risk under each time tick of the plot.
    end = max((float(rows["time"].max()) for _, rows in shown), default=1.0)
    ticks = [t for t in ax.get_xticks() if 0 <= t <= end + 1e-9]
    risk.set_xlim(ax.get_xlim())
    risk.set_ylim(-0.5, max(len(shown), 1) - 0.5)
    for k, (group, rows) in enumerate(shown):
        y = len(shown) - 1 - k
        for t in ticks:
            risk.text(t, y, str(number_at_risk(rows, t)), ha="center", va="center", fontsize=8,
                      color=GROUP_COLOURS[group])  # fmt: skip
    risk.set_yticks(range(len(shown)), [_group_word(g) for g, _ in reversed(shown)], fontsize=7)
    risk.set_title("Number at risk", fontsize=8, loc="left")
    for side in ("top", "right", "left"):
        risk.spines[side].set_visible(False)
    risk.tick_params(axis="y", length=0)
    risk.set_xlabel("days after anakinra withdrawal")
    fig.tight_layout()
    return _svg(fig, "fig-km", "Kaplan-Meier time to flare with the number at risk")


# --------------------------------------------------------------------------------------------
# Variants on the protein

_PROTEIN_CHANGE = re.compile(r"p\.\(?([A-Z][a-z]{2})(\d+)(.*?)\)?$")


def protein_change(hgvs_p: str) -> tuple[int, str] | None:
    """(residue, short name such as R260W) of an HGVS protein change, or None."""
    from Bio.SeqUtils import seq1

    text = str(hgvs_p).split(":")[-1]
    found = _PROTEIN_CHANGE.match(text)
    if not found:
        return None
    first, residue, rest = found.groups()
    short = seq1(first) + residue
    tail = re.match(r"([A-Z][a-z]{2})$", rest)
    if tail:
        short += "*" if tail.group(1) == "Ter" else seq1(tail.group(1))
    elif rest:
        short += rest.replace("Ter", "*")
    return int(residue), short


def spread(positions: Sequence[float], min_gap: float, low: float, high: float) -> list[float]:
    """Label positions as near as possible to sorted ``positions`` but at least ``min_gap``
    apart and within [low, high]: crowded runs are pushed apart around their centre."""
    placed: list[list[float]] = []  # runs of labels: [start, count, sum of wanted positions]
    for x in positions:
        placed.append([x, 1, x])
        while len(placed) > 1 and placed[-2][0] + placed[-2][1] * min_gap > placed[-1][0]:
            start, count, total = placed.pop()
            run = placed[-1]
            run[1] += count
            run[2] += total
            run[0] = run[2] / run[1] - (run[1] - 1) * min_gap / 2  # centred on its wishes
    out = []
    for start, count, _ in placed:
        start = min(max(start, low), high - (count - 1) * min_gap)
        out += [start + k * min_gap for k in range(int(count))]
    return out


def protein_figure(
    groups: pd.DataFrame, domains: Sequence, length: int, protein_id: str = ""
) -> str:
    """Domains of the protein and each patient's protein change stacked at its residue."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 3.4))
    palette = {"PYD": "#f5b041", "FISNA": "#a9cce3", "NACHT": "#82e0aa", "LRR": "#d2b4de"}
    ax.add_patch(plt.Rectangle((1, -0.12), length - 1, 0.24, color="#dddddd", zorder=1))
    for domain in domains:
        if domain.name not in palette:
            continue  # motifs (the Walker A P-loop) are inside NACHT
        ax.add_patch(plt.Rectangle((domain.start, -0.22), domain.end - domain.start, 0.44,
                                   color=palette[domain.name], zorder=2))  # fmt: skip
        ax.text((domain.start + domain.end) / 2, 0, domain.name, ha="center", va="center",
                fontsize=8, zorder=3)  # fmt: skip
    column = "hgvs_p_sample" if "hgvs_p_sample" in groups else "hgvs_p"
    stacks: dict[int, list] = {}
    for row in groups.to_dict("records"):
        change = protein_change(row.get(column, "")) if row.get(column) else None
        if change is None or row.get("status") not in STATUS_MARKERS:
            continue
        stacks.setdefault(change[0], []).append((change[1], row["status"], row["patient_id"]))
    seen = set()
    tallest = max((len(p) for p in stacks.values()), default=1)
    label_y = 0.55 + 0.28 * tallest + 0.25
    label_xs = spread(sorted(stacks), min_gap=length / 45, low=1, high=length)
    for (residue, patients), label_x in zip(sorted(stacks.items()), label_xs, strict=True):
        top = 0.55 + 0.28 * (len(patients) - 1)
        ax.plot([residue, residue], [0.22, top], color="#777", lw=0.8, zorder=1)
        # a leader from the stack to its label, which may sit aside to keep labels apart
        ax.plot([residue, residue, label_x], [top, label_y - 0.15, label_y - 0.02], color="#bbb",
                lw=0.6, zorder=1)  # fmt: skip
        for k, (_short, status, _patient) in enumerate(sorted(patients, key=lambda p: p[1])):
            label, marker, face, edge = STATUS_MARKERS[status]
            first = None if status in seen else label  # one legend entry per status
            ax.scatter(residue, 0.55 + 0.28 * k, marker=marker, s=40, facecolor=face,
                       edgecolor=edge, zorder=4, label=first)  # fmt: skip
            seen.add(status)
        names = sorted({p[0] for p in patients})
        ax.text(label_x, label_y, "/".join(names), rotation=90, ha="center", va="bottom",
                fontsize=7)  # fmt: skip
    ax.set_ylim(-0.4, label_y + 1.1)
    ax.set_xlim(-10, length + 10)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(f"residue ({protein_id or 'MANE Select'} numbering, {length} aa)")
    n = sum(len(p) for p in stacks.values())
    ax.set_title(f"NLRP3 protein changes of the {n} patients with one", fontsize=9)
    if seen:
        ax.legend(fontsize=7, frameon=False, loc="upper right", ncol=len(seen))
    fig.tight_layout()
    return _svg(fig, "fig-protein", "Each patient's NLRP3 protein change on the domains")
