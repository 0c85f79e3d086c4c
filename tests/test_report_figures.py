"""The report's figures, opened in headless Chromium: their text read from the DOM (legend,
number-at-risk table, n, median, P, protein changes) against numbers recomputed here by hand
from the demo's input files, and screenshots checked for what a reader must see."""

from __future__ import annotations

import csv
import html
import itertools
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import headless_chromium
from PIL import Image
from scipy import stats
from test_analysis import raw_demo_values, raw_groups
from test_compare import mann_whitney_enumeration_p

from nlrp3annot.response.report.display import display_name
from nlrp3annot.response.report.figures import km_figure, protein_change, spread
from nlrp3annot.response.report.headline import HEADLINE_COLUMNS

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian chromium not installed"
)
POS, NEG = "mutation_positive", "mutation_negative"
MACHINE_NAMES = {display_name(c): c for c in HEADLINE_COLUMNS}
COLOURS = {POS: (0xC0, 0x39, 0x2B), NEG: (0x24, 0x71, 0xA3)}
THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
}  # fmt: skip


@pytest.fixture(scope="module")
def dom(demo: Path, tmp_path_factory) -> str:
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed")
    proc = headless_chromium(
        tmp_path_factory.mktemp("chromium"), "--dump-dom", (demo / "report.html").as_uri()
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Uncaught" not in proc.stderr and "ERROR:CONSOLE" not in proc.stderr
    return proc.stdout


def figure(dom: str, figure_id: str) -> str:
    found = re.search(rf'<figure class="plot" id="{figure_id}">.*?</figure>', dom, re.S)
    assert found, f"no figure {figure_id} in the page"
    return found.group(0)


def texts(markup: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", markup)]


def flare_times(demo: Path) -> dict[str, list[tuple[float, bool]]]:
    """(days from withdrawal to flare, flared) per compared group, from samples.csv."""
    groups = raw_groups(demo)
    days = {}  # a patient with two samples has the same days on both rows
    with (demo / "inputs" / "samples.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["withdrawal_day"] and row["flare_day"] and groups.get(row["patient_id"]):
                days[row["patient_id"]] = float(row["flare_day"]) - float(row["withdrawal_day"])
    out: dict[str, list[tuple[float, bool]]] = {POS: [], NEG: []}
    for patient, duration in days.items():
        out[groups[patient]].append((duration, True))
    return out


def hand_km_median(times: list[tuple[float, bool]]) -> float:
    survival = 1.0
    for t in sorted({d for d, _ in times}):
        at_risk = sum(d >= t for d, _ in times)
        events = sum(d == t and e for d, e in times)
        survival *= 1 - events / at_risk
        if survival <= 0.5 + 1e-9:
            return t
    return math.nan


def hand_logrank_p(a: list[tuple[float, bool]], b: list[tuple[float, bool]]) -> float:
    """The log-rank chi-square (1 df) written out: observed minus expected events of the
    first group at each event time, over its hypergeometric variance."""
    o_minus_e = variance = 0.0
    for t in sorted({d for d, e in a + b if e}):
        n1, n2 = sum(d >= t for d, _ in a), sum(d >= t for d, _ in b)
        d1, d2 = sum(d == t and e for d, e in a), sum(d == t and e for d, e in b)
        n, d = n1 + n2, d1 + d2
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            variance += d * (n1 / n) * (n2 / n) * (n - d) / (n - 1)
    return float(stats.chi2.sf(o_minus_e**2 / variance, 1))


def test_kaplan_meier_figure_shows_n_median_p_and_the_number_at_risk(demo: Path, dom: str):
    words = texts(figure(dom, "fig-km"))
    times = flare_times(demo)
    for group in (POS, NEG):
        n, median = len(times[group]), hand_km_median(times[group])
        legend = f"{group.replace('_', '-')} (n={n}, median {median:g} d)"
        assert legend in words, (legend, words)
    p = hand_logrank_p(times[POS], times[NEG])
    assert any(w.startswith(f"log-rank P = {p:.3g} (asymptotic)") for w in words), words
    # The risk table: after its title, each group's row of counts at the ticks 0, 1, ...
    assert "Number at risk" in words
    ticks = [float(w) for w in words[words.index("days after anakinra withdrawal") - 6 :][:6]]
    assert ticks == [0, 1, 2, 3, 4, 5]
    counts = words[words.index("days after anakinra withdrawal") + 3 :][:12]
    expected = [str(sum(d >= t for d, _ in times[g])) for g in (POS, NEG) for t in ticks]
    assert counts == expected


def test_change_figures_give_n_per_group_and_ratios_on_a_log_axis(demo: Path, dom: str):
    values = raw_demo_values(demo)
    groups = raw_groups(demo)
    wide = values.pivot_table(index=["patient_id", "measure"], columns="visit", values="value")
    for measure in ("saa", "crp", "esr", "diary"):
        markup = figure(dom, f"fig-change-{measure}")
        words = texts(markup)
        both = wide.xs(measure, level="measure")[["baseline", "month3"]].dropna()
        for group in (POS, NEG):
            n = sum(groups.get(p) == group for p in both.index)
            assert f"(n={n})" in " ".join(words) and group.replace("_", "-") in words
        joined = " ".join(words)
        if measure == "diary":
            assert "change month 3 - baseline" in joined
        else:  # a log axis of ratios, read as percent of baseline or fold
            assert "month 3 as % or fold of baseline" in joined and "1x" in words
            assert r"\mathdefault" not in markup


def test_protein_figure_names_every_patients_change_on_the_domains(demo: Path, dom: str):
    words = texts(figure(dom, "fig-protein"))
    for domain in ("PYD", "FISNA", "NACHT", "LRR"):
        assert domain in words
    table = pd.read_csv(demo / "tables" / "groups.tsv", sep="\t").dropna(subset=["hgvs_p_sample"])
    labels = " ".join(words)
    for hgvs in table["hgvs_p_sample"]:
        first, residue, last = re.fullmatch(
            r".*p\.([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})", hgvs
        ).groups()
        assert f"{THREE_TO_ONE[first]}{residue}{THREE_TO_ONE[last]}" in labels
    assert {"R260W", "D303N", "T348M", "A439V"} <= set(re.split(r"[ /]", labels))
    assert "germline" in words and "mosaic" in words


def screenshot(tmp_path: Path, dom: str, figure_id: str) -> np.ndarray:
    page = tmp_path / f"{figure_id}.html"
    page.write_text(
        "<!DOCTYPE html><html><body style='margin:0;background:#fff'>"
        + figure(dom, figure_id)
        + "</body></html>"
    )
    png = tmp_path / f"{figure_id}.png"
    proc = headless_chromium(
        tmp_path, "--window-size=1100,700", f"--screenshot={png}", page.as_uri()
    )
    assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def pixels_near(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    return int((np.abs(image - np.array(colour)).sum(axis=2) < tolerance).sum())


def inked_box(image: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero((image < 235).any(axis=2))
    return rows.min(), rows.max(), cols.min(), cols.max()


@needs_chromium
@pytest.mark.parametrize("figure_id", ["fig-km", "fig-change-saa", "fig-trajectory-crp"])
def test_screenshots_draw_both_groups_uncut(tmp_path: Path, dom: str, figure_id: str):
    image = screenshot(tmp_path, dom, figure_id)
    for group, colour in COLOURS.items():
        assert pixels_near(image, colour) > 40, f"{group} not drawn in {figure_id}"
    top, bottom, left, right = inked_box(image)
    height, width = image.shape[:2]
    assert bottom < height - 5 and right < width - 5, "the figure runs off the page"
    assert right - left > 300 and bottom - top > 200


@needs_chromium
def test_protein_screenshot_shows_domains_and_both_kinds_of_carrier(tmp_path: Path, dom: str):
    image = screenshot(tmp_path, dom, "fig-protein")
    domain_colours = [
        (0xF5, 0xB0, 0x41),
        (0xA9, 0xCC, 0xE3),
        (0x82, 0xE0, 0xAA),
        (0xD2, 0xB4, 0xDE),
    ]
    for colour in domain_colours:
        assert pixels_near(image, colour, 20) > 500
    assert pixels_near(image, (0xC0, 0x39, 0x2B)) > 40  # germline: filled red
    assert pixels_near(image, (0xD3, 0x54, 0x00)) > 20  # mosaic: orange outline


def test_censored_patients_get_ticks_explained_in_the_legend():
    """Two of five patients end follow-up without a flare: the legend explains the tick."""
    from nlrp3annot.response.stats.compare import run_comparison

    events = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D", "E"],
            "withdrawal_day": [0, 0, 0, 0, 0],
            "flare_day": [3, math.nan, 5, 2, math.nan],
            "followup_end_day": [math.nan, 10, math.nan, math.nan, 8],
        }
    )
    groups = pd.DataFrame({"patient_id": list("ABCDE"), "group": [POS, POS, POS, NEG, NEG]})
    measurements = pd.DataFrame(
        columns=["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
    )
    result = run_comparison(measurements, groups, events)
    markup = km_figure(result.tables["km_survival"], result.tables["time_to_flare"])
    words = texts(markup)
    assert "+ censored (no flare by end of follow-up)" in words
    assert "mutation-positive (n=3, median 5 d)" in words  # 3 at 3 -> 2/3, 5 -> 1/3
    assert "mutation-negative (n=2, median 2 d)" in words


def test_protein_change_and_label_spread():
    assert protein_change("NP_001230062.1:p.Arg260Trp") == (260, "R260W")
    assert protein_change("p.(Arg260Ter)") == (260, "R260*")
    assert protein_change("p.Leu305del")[1] == "L305del"
    assert protein_change("c.778C>T") is None
    xs = spread([303, 305, 311, 348], min_gap=20, low=1, high=1034)
    assert all(b - a >= 20 - 1e-9 for a, b in zip(xs, xs[1:], strict=False))
    assert abs(np.mean(xs[:3]) - np.mean([303, 305, 311])) < 20  # stays near its residues
    assert spread([5, 6], min_gap=20, low=1, high=1034)[0] >= 1


class _Tables(HTMLParser):
    """The rows of the table inside one element id, as text cells."""

    def __init__(self, element_id: str):
        super().__init__()
        self.element_id, self.depth, self.rows, self.cell = element_id, 0, [], None

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag != "br"
        elif dict(attrs).get("id") == self.element_id:
            self.depth = 1
        if self.depth and tag == "tr":
            self.rows.append([])
        if self.depth and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if self.depth and tag in ("td", "th"):
            self.rows[-1].append(self.cell.strip())
            self.cell = None
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def dom_table(dom: str, element_id: str) -> pd.DataFrame:
    parser = _Tables(element_id)
    parser.feed(dom)
    header, *rows = parser.rows
    return pd.DataFrame(rows, columns=header)


def test_headline_table_read_from_the_dom_equals_a_brute_force_recomputation(demo: Path, dom: str):
    """ESR, baseline -> month 3 (every value measured): the Hodges-Lehmann ratio of ratios is
    exp(median of all pairwise differences of the patients' log ratios), its CI (inverting
    the exact Mann-Whitney test: for untied data the order statistics at the exact critical
    value) and the unadjusted P the Mann-Whitney P over every split of the 18 patients."""
    headline = dom_table(dom, "table-headline")
    # the page names the columns for reading; back to the machine names to compare
    headline.columns = [MACHINE_NAMES[c] for c in headline.columns]
    row = headline[headline["end_point"] == "ESR baseline->month3"]
    assert len(row) == 1
    row = row.iloc[0]
    values, groups = raw_demo_values(demo), raw_groups(demo)
    wide = values[values["measure"] == "esr"].pivot_table(
        index="patient_id", columns="visit", values="value"
    )
    logs = np.log(wide["month3"] / wide["baseline"]).dropna()
    x = np.array([v for p, v in logs.items() if groups.get(p) == POS])
    y = np.array([v for p, v in logs.items() if groups.get(p) == NEG])
    differences = np.sort(np.subtract.outer(x, y).ravel())
    assert len(set(np.round(differences, 9))) == differences.size  # untied: the classic CI
    assert row["difference"] == f"ratio of ratios {math.exp(np.median(differences)):.3g}"
    # the critical count k: the largest with P(U <= k) <= 2.5% over all splits
    us = [
        sum(a > b for a in chosen for b in set(range(x.size + y.size)) - set(chosen))
        for chosen in itertools.combinations(range(x.size + y.size), x.size)
    ]
    counts = np.bincount(us, minlength=x.size * y.size + 1)
    k = max(t for t in range(counts.size) if counts[: t + 1].sum() / len(us) <= 0.025)
    low_log, high_log = differences[k], differences[differences.size - 1 - k]
    lower, upper = math.exp(low_log), math.exp(high_log)
    # an end is open when the test rejects that shift itself (issue 26: open ends shown, "> a"
    # and "<b"): at the end one pair ties (rounded so float noise cannot undo the tie), the
    # exact P over midranks decides
    low_open, high_open = (
        mann_whitney_enumeration_p(np.round(x - end, 9), np.round(y, 9)) < 0.05
        for end in (low_log, high_log)
    )
    shown = f"{'> ' if low_open else ''}{lower:.3g} to {'<' if high_open else ''}{upper:.3g}"
    assert row["difference_ci"] == shown
    p = mann_whitney_enumeration_p(x, y)
    assert row["p_unadjusted"] == f"{p:.2g}" and row["test"] == "Mann-Whitney, exact"
    assert row["effect1"].startswith(f"{100 * math.exp(np.median(walsh(x))):.0f}% of baseline")


def walsh(values: np.ndarray) -> list[float]:
    return [(values[i] + values[j]) / 2 for i in range(values.size) for j in range(i, values.size)]
