"""The report's first screen, as a clinician opens it: in headless Chromium at 1280x800, one
plain-words bottom line per primary end point of the plan, who is mutation-positive and
-negative, and the main figure are all above the fold. The bottom lines' words are checked
against the numbers of the TSV files (not against pasted text); tables show readable column
names while the TSVs keep the machine names; log axes read as percent or fold.

The builders are also run on made-up family rows, for the branches the demo does not reach
(a difference confirmed after adjustment, one seen only before it, no comparison)."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import headless_chromium
from PIL import Image

from nlrp3annot.response.report.bottom_line import (
    bottom_line,
    definitions_line,
    overall_line,
)
from nlrp3annot.response.report.display import display_name
from nlrp3annot.response.report.figures import fold_label

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian chromium not installed"
)
POS, NEG = "mutation_positive", "mutation_negative"
FOLD = 800  # the height of the first screen at 1280x800
# Runs in the page after layout and writes what it measured into the page, which
# --dump-dom then returns: each element's box, the tables' headers, the axes' tick labels.
PROBE = """<script>
(function () {
  const box = el => { const r = el.getBoundingClientRect();
                      return {top: r.top, bottom: r.bottom, height: r.height}; };
  const ticks = {};
  for (const fig of document.querySelectorAll('figure.plot')) {
    ticks[fig.id] = [...fig.querySelectorAll('g[id*="-ytick_"] text')].map(t => t.textContent);
  }
  const above = [...document.body.querySelectorAll('*')]
    .filter(el => el.id !== 'probe' && el.getBoundingClientRect().top < FOLD);
  const out = {
    width: window.innerWidth,
    lines: [...document.querySelectorAll('li.bottom-line')].map(li =>
      Object.assign({endpoint: li.dataset.endpoint, text: li.textContent,
                     above: above.includes(li)}, box(li))),
    definitions: [...document.querySelectorAll('#definitions')].map(d =>
      Object.assign({text: d.textContent, above: above.includes(d)}, box(d))),
    svgs: [...document.querySelectorAll('figure.plot > svg')].filter(s => above.includes(s))
      .map(s => Object.assign({figure: s.parentElement.id}, box(s))),
    headers: [...document.querySelectorAll('th')].map(th => th.textContent.trim()),
    ticks: ticks,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>""".replace("FOLD", str(FOLD))


@pytest.fixture(scope="module")
def probe(demo: Path, tmp_path_factory) -> dict:
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed")
    folder = tmp_path_factory.mktemp("probe")
    page = folder / "report.html"
    page.write_text((demo / "report.html").read_text().replace("</body>", PROBE + "</body>"))
    proc = headless_chromium(folder, "--window-size=1280,800", "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    import html

    out = json.loads(html.unescape(found.group(1)))
    assert out["width"] == 1280  # the layout depends on the width only (no vh units)
    return out


def tsv(demo: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(demo / "tables" / f"{name}.tsv", sep="\t", keep_default_na=False,
                       na_values=[""])  # fmt: skip


def alpha_of(demo: Path) -> float:
    return float(json.loads((demo / "summary.json").read_text())["plan"]["alpha"])


def hand_hodges_lehmann_ratio(demo: Path, measure: str, change: str, group: str):
    """A group's Hodges-Lehmann ratio later / earlier by hand from the measurements: exp of
    the median of the Walsh averages (every pair i <= j) of the patients' log ratios. None
    when a value of the group is censored (then the estimate is a range)."""
    values = tsv(demo, "measurements")
    members = set(tsv(demo, "patients").query("group == @group")["patient_id"])
    earlier, later = change.split("->")
    mine = values[(values["measure"] == measure) & values["patient_id"].isin(members)]
    mine = mine.assign(censored=mine["censored"].fillna(""))
    wide = mine.pivot_table(index="patient_id", columns="visit", values="value", aggfunc="first")
    flags = mine.pivot_table(index="patient_id", columns="visit", values="censored",
                             aggfunc="first")  # fmt: skip
    both = wide[[earlier, later]].dropna()
    if (flags.loc[both.index, [earlier, later]] != "").any().any():
        return None
    logs = np.log(both[later].to_numpy(float) / both[earlier].to_numpy(float))
    i, j = np.triu_indices(len(logs))
    return float(np.exp(np.median((logs[i] + logs[j]) / 2)))


def p_text(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def detail_sentences(folder: Path, kind: str = "answer") -> list[str]:
    """The sentences of "the answer in detail" (or of the secondary end points) as text."""
    import html

    page = (folder / "report.html").read_text()
    found = re.search(rf"<ul class='{kind}'>(.*?)</ul>", page, re.S)
    items = re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


# --------------------------------------------------------------------------------------------
# What is above the fold


@needs_chromium
def test_first_screen_holds_a_bottom_line_per_primary_end_point_the_groups_and_the_figure(
    demo: Path, probe: dict
):
    family = tsv(demo, "study_endpoints")
    genotype = tsv(demo, "genotype_endpoints")
    lines = {line["endpoint"]: line for line in probe["lines"]}
    # the study's question first (NEJM 2006: within-patient change, all patients), then the
    # genotype comparison; one line per end point each, in the plan's order
    assert list(lines) == list(family["endpoint"]) + list(genotype["endpoint"])
    for endpoint in family["endpoint"]:  # the study's answer whole, without scrolling
        assert lines[endpoint]["above"] and lines[endpoint]["bottom"] <= FOLD, lines[endpoint]
    # the genotype comparison begins on the first screen, second (it may run below it)
    assert lines[genotype["endpoint"].iloc[0]]["top"] < FOLD
    (definitions,) = probe["definitions"]
    assert definitions["above"] and definitions["bottom"] <= FOLD
    # the main figure: the per-patient figure of the plan's first primary end point
    main_figure = f"fig-change-{family['measure'].dropna().iloc[0]}"
    shown = {svg["figure"]: svg for svg in probe["svgs"]}
    assert main_figure in shown, list(shown)
    assert shown[main_figure]["bottom"] <= FOLD and shown[main_figure]["height"] > 200


@needs_chromium
def test_the_first_screenshot_draws_the_main_figure(demo: Path, tmp_path: Path):
    png = tmp_path / "top.png"
    proc = headless_chromium(
        tmp_path, "--window-size=1280,800", f"--screenshot={png}", (demo / "report.html").as_uri()
    )
    assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert image.shape[:2] == (800, 1280)
    for colour in ((0xC0, 0x39, 0x2B), (0x24, 0x71, 0xA3)):  # both groups' patients
        assert int((np.abs(image - np.array(colour)).sum(axis=2) < 40).sum()) > 40


# --------------------------------------------------------------------------------------------
# The words follow the numbers


@needs_chromium
def test_bottom_lines_say_what_the_tsv_numbers_say(demo: Path, probe: dict):
    alpha = alpha_of(demo)
    family = tsv(demo, "genotype_endpoints")
    summary = json.loads((demo / "summary.json").read_text())
    assert summary["plan"]["question"] == "study"  # the default: genotype comparison exploratory
    within, between, flare = (
        tsv(demo, "ratios_within"),
        tsv(demo, "between"),
        tsv(demo, "time_to_flare"),
    )
    lines = {line["endpoint"]: line["text"] for line in probe["lines"]}
    detail = dict(zip(family["endpoint"], detail_sentences(demo), strict=True))
    for row in family.itertuples(index=False):
        text = lines[row.endpoint]
        assert row.role == "exploratory" and math.isnan(row.p_adjusted)
        assert f"(P = {p_text(row.p)}" in text and "adjusted P" not in text, text
        if row.p >= alpha:
            assert "no difference between the groups was detected" in text, text
            assert "the groups differed" not in text
            if row.p >= alpha:  # the smallest effect it could have seen, with the sizes
                assert f"with {row.n1} and {row.n2} patients" in text
                if math.isnan(row.detectable_effect) and row.detectable_method:
                    # simulated, and no effect reached 80% (Gehan, SAA month 3 -> flare)
                    assert "no difference of any size reached 80% power" in text, text
                    assert "too few to say" not in text
                elif math.isnan(row.detectable_effect):
                    assert "too few to say what difference the study could detect" in text
                else:
                    assert "could not reliably detect a difference" in text
                    assert f"under {row.detectable_effect:.2g}" in text, text
            else:  # the interval excluded no effect, before adjustment only
                assert f"excluded no difference (unadjusted P = {p_text(row.p)})" in text
        else:
            assert "the groups differed" in text and "no difference" not in text
        if row.scale == "ratio":
            # each group's ratio, named, as "the answer in detail" quotes it
            assert "Hodges-Lehmann ratio" in (demo / "report.html").read_text()
            for group in (POS, NEG):
                found = within[(within["measure"] == row.measure)
                               & (within["change"] == row.change)
                               & (within["group"] == group)].iloc[0]  # fmt: skip
                mine = hand_hodges_lehmann_ratio(demo, row.measure, row.change, group)
                if mine is not None:  # no censored value: one number, recomputed by hand
                    assert found["ratio_low"] == pytest.approx(mine, rel=1e-9)
                    assert found["ratio_high"] == pytest.approx(mine, rel=1e-9)
                for end in (found["ratio_low"], found["ratio_high"]):
                    shown = f"{100 * end:.0f}%" if end < 1 else f"{end:.2g}"
                    assert shown in text, (shown, text)
                    assert shown in detail[row.endpoint], (shown, detail[row.endpoint])
            medians = within[(within["measure"] == row.measure) & (within["change"] == row.change)
                             & within["group"].isin([POS, NEG])]["ratio_high"]  # fmt: skip
            if (medians < 1).all():
                assert "both groups improved" in text
            if (medians > 1).all():
                assert "both groups worsened" in text
        elif row.scale == "change":
            b = between[(between["measure"] == row.measure) & (between["change"] == row.change)]
            for k in (1, 2):
                assert f"{abs(b[f'median_change{k}'].iloc[0]):.2g}" in text
            word = "fall" if (b[["median_change1", "median_change2"]] < 0).all(axis=1).iloc[0] \
                else "rise"  # fmt: skip
            assert f"median {word} of" in text
        else:
            for k in flare.itertuples(index=False):
                flared = f"{k.events} of {k.n} {k.group.replace('_', '-')} patients flared"
                assert flared in text and f"median {k.median:g} days" in text


@needs_chromium
def test_definitions_count_the_patients_by_status_under_the_group_rule(demo: Path, probe: dict):
    text = probe["definitions"][0]["text"]
    patients = tsv(demo, "patients")
    rule = json.loads((demo / "summary.json").read_text())["group_rule"]
    assert rule == "strict" and f"Group rule: {rule}." in text
    positive = patients[patients["group"] == POS]
    negative = patients[patients["group"] == NEG]
    germline = int((positive["status"] == "positive_germline").sum())
    mosaic = int((positive["status"] == "positive_mosaic").sum())
    assert germline + mosaic == len(positive)
    assert f"Mutation-positive ({len(positive)} patients): {germline} with a pathogenic or " \
        "likely pathogenic NLRP3 variant" in text  # fmt: skip
    assert f"{mosaic} with such a variant as a mosaic" in text
    assert f"Mutation-negative ({len(negative)} patients): no pathogenic" in text
    vus = int((patients["status"] == "vus_only").sum())
    unknown = int((patients["status"] == "not_assessable").sum())
    assert f"Not compared: {vus} with only a VUS" in text and f"{unknown} not assessable" in text


# --------------------------------------------------------------------------------------------
# Tables and axes


@needs_chromium
def test_no_table_header_is_a_machine_name_of_the_tsvs(demo: Path, probe: dict):
    machine = set()
    for path in (demo / "tables").glob("*.tsv"):
        machine |= set(path.read_text().split("\n", 1)[0].split("\t"))
    assert {"group1", "p_adjusted", "patient_id"} <= machine
    headers = set(probe["headers"])
    assert len(headers) > 50
    assert not headers & machine, sorted(headers & machine)
    assert not [h for h in headers if "_" in h or not h]
    assert {"Group A", "95% CI of the difference", "P, adjusted", "Patient"} <= headers
    # the TSVs themselves keep their machine names
    assert "group1" in tsv(demo, "ratios_between").columns


@needs_chromium
def test_log_axes_read_as_percent_or_fold(demo: Path, probe: dict):
    ticks = probe["ticks"]
    for measure in ("saa", "crp", "esr"):  # ratios: percent below 1, fold from 1 up
        labels = ticks[f"fig-change-{measure}"]
        assert len(labels) >= 4 and "1x" in labels, labels
        assert all(re.fullmatch(r"\d+(\.\d+)?(x|%)", label) for label in labels), labels
        # concentrations over time: plain numbers in their unit, not powers of ten
        values = ticks[f"fig-trajectory-{measure}"]
        assert values and all(re.fullmatch(r"\d+(\.\d+)?", v) for v in values), values
    assert "mathdefault" not in (demo / "report.html").read_text()


def test_fold_labels():
    assert [fold_label(v) for v in (0.002, 0.05, 0.2, 1, 5, 20, 1000)] == [
        "0.2%", "5%", "20%", "1x", "5x", "20x", "1000x",
    ]  # fmt: skip
    assert fold_label(1e-7) == "0.00001%"  # never 1e-05


def test_display_names_are_readable_and_never_the_machine_name():
    assert display_name("group1") == "Group A"
    assert display_name("difference_ci") == "95% CI of the difference"
    assert display_name("ci_lower", level=0.9) == "90% CI, lower"
    assert display_name("median_change2_text") == "Median change (B), range if censored"
    for name in ("n_undetermined1", "some_new_column", "x", "ci"):
        shown = display_name(name)
        assert shown != name and "_" not in shown


# --------------------------------------------------------------------------------------------
# The builders on made-up rows: every branch of the wording

COMPARED = (POS, NEG)


def family_row(**values) -> dict:
    row = {
        "endpoint": "SAA baseline->month3", "measure": "saa", "change": "baseline->month3",
        "scale": "ratio", "n1": 10, "n2": 6, "estimate": "0.2", "ci_lower": 0.08,
        "ci_upper": 0.6, "p": 0.002, "p_adjusted": 0.01, "adjustment": "Holm over 3 test(s)",
        "detectable_effect": 2.5, "note": "", "table": "ratios_between", "ci_text": "",
    }  # fmt: skip
    return row | values


def ratio_tables(pos, neg) -> dict[str, pd.DataFrame]:
    """Each group's ratio: a number, or (low, high) where a censored value
    leaves it a range (low 0: below the high end). The median of the ratios is set to
    another number, which no line may quote (the first screen quotes the estimate the
    detail quotes: the one)."""
    bounds = [b if isinstance(b, tuple) else (b, b) for b in (pos, neg)]
    within = pd.DataFrame(
        {
            "measure": ["saa"] * 2, "change": ["baseline->month3"] * 2, "group": [POS, NEG],
            "n": [10, 6], "ratio_low": [b[0] for b in bounds],
            "ratio_high": [b[1] for b in bounds], "median_ratio": [0.777, 0.777],
            "median_ratio_text": ["0.777", "0.777"],
        }
    )  # fmt: skip
    return {"ratios_within": within}


def test_a_difference_confirmed_after_adjustment_names_its_direction():
    text = bottom_line(family_row(), ratio_tables(0.05, 0.3), 0.05, COMPARED)
    assert text.startswith("SAA, baseline to month 3: both groups improved (5% of")
    assert "the groups differed: SAA fell further in mutation-positive than in " \
        "mutation-negative patients (ratio of ratios 0.2, 95% CI 0.08 to 0.6; " \
        "adjusted P = 0.01, Holm adjustment over 3 tests)" in text  # fmt: skip
    assert "no difference" not in text
    higher = family_row(estimate="4", ci_lower=1.5, ci_upper=9.0)
    text = bottom_line(higher, ratio_tables(1.5, 0.4), 0.05, COMPARED)
    assert "mutation-positive patients worsened (1.5-fold rise)" in text
    assert "mutation-negative patients improved (40% of baseline)" in text
    assert "78%" not in text
    assert "SAA ended higher in mutation-positive" in text
    # an estimate left a range by a value at a detection limit is shown as that range
    text = bottom_line(family_row(), ratio_tables((0.0412, 0.0533), (0.0, 0.3)), 0.05, COMPARED)
    assert "both groups improved (4% to 5% of baseline in " \
        "mutation-positive, below " \
        "30% in mutation-negative patients)" in text  # fmt: skip


def test_a_difference_seen_only_before_adjustment_is_not_claimed():
    row = family_row(p=0.02, p_adjusted=0.06)
    text = bottom_line(row, ratio_tables(0.05, 0.3), 0.05, COMPARED)
    assert "no difference between the groups was detected (adjusted P = 0.06, Holm " \
        "adjustment over 3 tests), though before adjustment the 95% CI excluded no " \
        "difference (unadjusted P = 0.02)" in text  # fmt: skip
    assert "differed" not in text
    # an adjusted P exactly at alpha is not below it
    text = bottom_line(family_row(p=0.05, p_adjusted=0.05), ratio_tables(0.1, 0.2), 0.05,
                       COMPARED)  # fmt: skip
    assert "no difference between the groups was detected" in text
    assert "could not reliably detect a difference under 2.5-fold" in text


def test_changes_flare_and_no_comparison():
    between = pd.DataFrame(
        {
            "measure": ["diary"], "change": ["month3->flare"], "n1": [5], "n2": [0],
            "median_change1": [2.5], "median_change2": [math.nan],
            "median_change1_text": ["2.5"], "median_change2_text": [""],
        }
    )  # fmt: skip
    row = family_row(endpoint="diary month3->flare", measure="diary", change="month3->flare",
                     scale="change", estimate="", p=math.nan, p_adjusted=math.nan,
                     note="no comparison: a group has no change")  # fmt: skip
    text = bottom_line(row, {"between": between}, 0.05, COMPARED)
    assert text == (
        "Diary score, month 3 to flare: no patient with both visits in mutation-negative; "
        "the groups were not compared (no comparison: a group has no change)."
    )
    km = pd.DataFrame({"group": [POS, NEG], "n": [6, 5], "events": [6, 2],
                       "median": [3.0, math.nan]})  # fmt: skip
    row = family_row(endpoint="time to flare", measure="", change="withdrawal->flare",
                     scale="hazard ratio", estimate="HR 4.1", ci_lower=1.2, ci_upper=14.0,
                     p=0.01, p_adjusted=0.03, detectable_effect=5.0)  # fmt: skip
    text = bottom_line(row, {"time_to_flare": km}, 0.05, COMPARED)
    assert "6 of 6 mutation-positive patients flared (after a median 3 days)" in text
    assert "2 of 5 mutation-negative patients flared (median time not reached)" in text
    assert "mutation-positive patients flared sooner than mutation-negative" in text


def test_overall_line_counts_the_family():
    family = pd.DataFrame([family_row(), family_row(endpoint="CRP", measure="crp",
                                                    p=0.3, p_adjusted=0.6)])  # fmt: skip
    family["role"] = "primary"
    text = overall_line({"genotype_endpoints": family}, 0.05, COMPARED, "genotype_endpoints")
    assert text.startswith("1 of the 2 primary between-group comparisons found a difference")
    family["p_adjusted"] = [0.2, 0.6]
    text = overall_line({"genotype_endpoints": family}, 0.05, COMPARED, "genotype_endpoints")
    assert text.startswith("None of the 2 primary between-group comparisons found a difference")


def test_definitions_follow_the_group_rule_and_count_the_set_apart():
    accounting = pd.DataFrame(
        {
            "group": [POS, POS, NEG, "vus", "not_assessable", "no_genotype"],
            "status": ["positive_germline", "positive_mosaic", "negative", "vus_only",
                       "not_assessable", ""],
        }
    )  # fmt: skip
    text = definitions_line(accounting, "strict", COMPARED)
    assert text.startswith("Mutation-positive (2 patients): 1 with a pathogenic")
    assert "Not compared: 1 with only a VUS (not counted as negative), 1 not assessable" in text
    assert "1 without a genotype or group" in text
    accounting.loc[3, "group"] = POS  # vus_as_positive: the VUS carrier is counted positive
    text = definitions_line(accounting, "vus_as_positive", COMPARED)
    assert "Mutation-positive (3 patients)" in text and "1 with only a variant of uncertain" in text
    assert "with only a VUS" not in text


# --------------------------------------------------------------------------------------------
# One rounding rule for reading, one order per plan (issue 26 point 8)

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def first_screen_lines(page: str) -> dict[str, str]:
    """The first screen's bottom lines as text, by end point."""
    import html

    found = re.findall(r"<li class='bottom-line' data-endpoint='([^']*)'>(.*?)</li>", page, re.S)
    return {html.unescape(k): html.unescape(re.sub(r"<[^>]+>", "", v)) for k, v in found}


def numbers(text: str) -> list[float]:
    """The numbers of a quoted estimate or interval, a percent read as a ratio."""
    scale = 0.01 if "%" in text else 1.0
    return [float(n) * scale for n in NUMBER.findall(text)]


def significant(text: str) -> list[int]:
    """How many significant digits each number of ``text`` is written with."""
    return [len(n.lstrip("+-").replace(".", "").lstrip("0")) for n in NUMBER.findall(text)]


def test_the_study_lines_read_the_detail_numbers_by_one_rule(demo: Path):
    """Each study line of the first screen quotes its estimate and interval ends as the
    detail's sentence does, every number to at most 3 significant digits and within half a
    unit of the third of the TSV's value; the diary's estimate recomputed by hand (the
    median of the Walsh averages of all patients' changes)."""
    page = (demo / "report.html").read_text()
    study = tsv(demo, "study_endpoints")
    lines = first_screen_lines(page)
    detail = dict(zip(study["endpoint"], detail_sentences(demo, "answer study"), strict=True))
    for row in study.itertuples(index=False):
        line, sentence = lines[row.endpoint], detail[row.endpoint]
        shown_ci = re.search(r"95% CI (.*?); ", line).group(1)
        detail_ci = re.search(r"95% CI (.*?); ", sentence).group(1)
        assert numbers(shown_ci) == pytest.approx(numbers(detail_ci), rel=1e-9), (line, sentence)
        assert max(significant(shown_ci)) <= 3 and max(significant(detail_ci)) <= 3
        assert numbers(detail_ci) == pytest.approx([row.ci_lower, row.ci_upper], rel=5e-3)
        amount = re.search(r"(?:improved|worsened) \((.*?);", line).group(1)
        estimate = re.search(r"Hodges-Lehmann (?:change|ratio) (.*?) \(95% CI", sentence).group(1)
        sign = -1.0 if amount.startswith("fall") else 1.0
        assert [sign * v for v in numbers(amount)] == pytest.approx(numbers(estimate), rel=1e-9)
        assert max(significant(amount)) <= 3 and max(significant(estimate)) <= 3
    values = tsv(demo, "measurements").query("measure == 'diary'")
    wide = values.pivot_table(index="patient_id", columns="visit", values="value").dropna(
        subset=["baseline", "month3"]
    )
    changes = (wide["month3"] - wide["baseline"]).to_numpy(float)
    i, j = np.triu_indices(len(changes))
    hand = float(np.median((changes[i] + changes[j]) / 2))
    diary = study.set_index("measure").loc["diary"].iloc[0]
    assert int(diary["n1"]) == len(changes)
    assert f"fall of {abs(hand):.3g} points" in lines[diary["endpoint"]]
    assert f"Hodges-Lehmann change {hand:.3g} (" in detail[diary["endpoint"]]


@pytest.fixture(scope="module")
def genotype_question(demo: Path, tmp_path_factory) -> Path:
    """The demo compared again under the default plan asking the genotype question."""
    from conftest import compare_args

    import nlrp3annot.response as response
    from nlrp3annot.cli import main

    folder = tmp_path_factory.mktemp("genotype_question")
    text = (Path(response.__file__).parent / "default_plan.toml").read_text()
    assert text.count('\nquestion = "study"\n') == 1
    plan = folder / "plan.toml"
    plan.write_text(text.replace('\nquestion = "study"\n', '\nquestion = "genotype"\n'))
    out = folder / "results"
    inputs = (demo / "annotation" / "patients.tsv", demo / "inputs" / "response.xlsx",
              demo / "inputs" / "samples.csv")  # fmt: skip
    assert main([*compare_args(*inputs, out), "--plan", str(plan), "-q"]) == 0
    return out


def test_the_plans_primary_question_comes_first(genotype_question: Path):
    """question = "genotype": the first screen answers the genotype comparison first,
    labelled primary, then the study's question, labelled supporting; its lines and the
    detail follow that order, and the main figure is the genotype family's first end
    point's."""
    import html

    page = (genotype_question / "report.html").read_text()
    first = page[page.index("id='first-screen'") : page.index("</section>")]
    questions = re.findall(r"<h3 class='question' data-family='(\w+)' data-role='(\w+)'", first)
    assert questions == [("genotype_endpoints", "primary"), ("study_endpoints", "supporting")]
    genotype = tsv(genotype_question, "genotype_endpoints")
    study = tsv(genotype_question, "study_endpoints")
    assert set(genotype["role"]) == {"primary"} and set(study["role"]) == {"supporting"}
    shown = [html.unescape(e) for e in re.findall(r"data-endpoint='([^']*)'", first)]
    assert shown == list(genotype["endpoint"]) + list(study["endpoint"])
    overall = re.findall(r"<p class='overall'>(.*?)</p>", first)
    assert "primary between-group comparisons" in overall[0]
    assert "supporting within-patient comparisons" in overall[1]
    main_figure = genotype["measure"].dropna().iloc[0]
    assert f'<figure class="plot" id="fig-change-{main_figure}"' in first
    assert page.index("id='genotype-question'") < page.index("id='study-question'")
