"""The analysis plan file: the packaged NEJM 2006 default, a user's plan, and each kind of
bad plan refused with one line naming the file and the key (the CLI prints it, exits 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError
from nlrp3annot.response.plan import (
    DEFAULT_SOURCE,
    AnalysisPlan,
    Endpoint,
    default_plan,
    describe_plan,
    load_plan,
    plan_to_dict,
)

NEJM_PRIMARY = [
    "diary baseline->month3",
    "SAA baseline->month3",
    "CRP baseline->month3",
    "ESR baseline->month3",
    "diary month3->flare",
    "SAA month3->flare",
    "CRP month3->flare",
    "ESR month3->flare",
]

ONE_ENDPOINT = """
title = "SAA only"
multiplicity = "fixed_sequence"
primary = [{ measure = "saa", change = ["baseline", "month3"] }]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_plan_is_the_nejm_2006_plan() -> None:
    plan = default_plan()
    assert [e.label for e in plan.primary] == NEJM_PRIMARY
    # the study's question is primary (NEJM 2006: within-patient changes, all 18 patients);
    # the genotype comparison of the same end points (and time to flare) is exploratory
    assert plan.question == "study"
    assert plan.primary_family == tuple(f"all patients: {e}" for e in NEJM_PRIMARY)
    assert plan.genotype_family == (*NEJM_PRIMARY, "time to flare")
    assert plan.time_to_flare == "primary"
    assert plan.flare_test == "firth_lr"  # Firth's LR P beside its own profile interval
    assert plan.multiplicity == "holm"
    assert plan.within_group == "descriptive"
    assert plan.compared == ("mutation_positive", "mutation_negative")
    assert plan.group_rule == "strict"
    assert plan.sensitivity_group_rules == ("germline_only", "vus_as_positive")
    assert plan.alpha == 0.05
    # the study's month 6 and retreatment results (NEJM 2006 abstract), secondary
    assert [e.label for e in plan.secondary] == [
        f"{m} {c}" for c in ("baseline->month6", "flare->retreatment")
        for m in ("diary", "SAA", "CRP", "ESR")
    ]  # fmt: skip
    assert plan.responder.below == {"saa": 10.0, "crp": 10.0}
    assert plan.responder.diary_fall == 0.5
    assert plan.visits.names == ("baseline", "month3", "flare", "month6", "retreatment")
    assert plan.source == DEFAULT_SOURCE
    assert plan.non_blood_negative == "not_assessable"  # a buccal-only negative: not compared
    lines = describe_plan(plan)
    assert "Primary question, the study's (Holm-adjusted over 8 tests at alpha 0.05)" in lines[1]
    assert lines[2].startswith("Exploratory question, the genotype comparison")


def test_a_plan_can_make_the_genotype_comparison_primary(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, ONE_ENDPOINT + 'question = "genotype"\n'))
    assert plan.question == "genotype"
    assert plan.primary_family == ("SAA baseline->month3", "time to flare")
    assert plan.study_family == ("all patients: SAA baseline->month3",)
    lines = describe_plan(plan)
    assert lines[1].startswith("Primary question, the genotype comparison (a fixed sequence")
    assert lines[2].startswith("Supporting: each end point's within-patient change")
    # without the key the study's question is primary
    assert load_plan(write(tmp_path, ONE_ENDPOINT)).primary_family == (
        "all patients: SAA baseline->month3",
    )


def test_an_unknown_question_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="key 'question': 'genes' is not allowed"):
        load_plan(write(tmp_path, ONE_ENDPOINT + 'question = "genes"\n'))


def test_a_user_plan_with_one_primary_end_point_and_fixed_sequence(tmp_path: Path) -> None:
    path = write(tmp_path, ONE_ENDPOINT)
    plan = load_plan(path)
    assert plan.primary == (Endpoint("saa", ("baseline", "month3")),)
    assert plan.multiplicity == "fixed_sequence"
    assert plan.title == "SAA only"
    assert plan.source == str(path)
    # keys left out take the NEJM defaults
    assert plan == AnalysisPlan(
        title="SAA only", primary=plan.primary, multiplicity="fixed_sequence", source=str(path)
    )
    assert "fixed sequence of 1 tests" in describe_plan(plan)[1]  # the study question


def test_the_flare_test_is_read_and_described(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, 'flare_test = "logrank"\n' + ONE_ENDPOINT))
    assert plan.flare_test == "logrank"
    primary = describe_plan(plan)[2]  # the genotype comparison (exploratory by default)
    assert "time to flare after withdrawal (log-rank test (asymptotic)" in primary
    assert "Cox with Firth's penalised likelihood, likelihood-ratio test shown beside" in primary


def test_visit_names_are_read_as_the_clinical_data_reads_them(tmp_path: Path) -> None:
    text = 'primary = [{ measure = "SAA", change = ["Baseline", "Month 3"] }]'
    plan = load_plan(write(tmp_path, text))
    assert plan.primary[0].label == "SAA baseline->month3"


@pytest.mark.parametrize("plan", [default_plan, None])
def test_plan_to_dict_round_trips_through_json(plan, tmp_path: Path) -> None:
    loaded = plan() if plan else load_plan(write(tmp_path, ONE_ENDPOINT))
    data = plan_to_dict(loaded)
    assert json.loads(json.dumps(data)) == data
    assert data["primary"][0]["change"] == list(loaded.primary[0].change)
    assert data["primary_family"] == list(loaded.primary_family)


PRIMARY = 'primary = [{ measure = "saa", change = ["baseline", "month3"] }]\n'
BAD = {
    "unknown key": ("alfa = 0.05\n" + PRIMARY, "'alfa'"),
    "unknown nested key": (PRIMARY + "[responder]\ncolour = 'red'\n", "'responder.colour'"),
    "wrong type": ('alpha = "0.05"\n' + PRIMARY, "'alpha'"),
    "boolean for a number": ("alpha = true\n" + PRIMARY, "'alpha'"),
    "wrong type of list": ('primary = "saa"\n', "'primary'"),
    "unknown measure": (
        'primary = [{ measure = "il6", change = ["baseline", "month3"] }]\n',
        "'primary.measure'",
    ),
    "unknown below measure": (PRIMARY + "[responder]\nbelow = { il6 = 5 }\n", "below.il6"),
    "visit not declared": (
        'primary = [{ measure = "saa", change = ["baseline", "month12"] }]\n',
        "'primary.change'",
    ),
    "responder visit not declared": (PRIMARY + "[responder]\nvisit = 'week 2'\n", "visit"),
    "empty primary": ("primary = []\n", "'primary'"),
    "missing primary": ('title = "x"\n', "'primary'"),
    "alpha 0.7": ("alpha = 0.7\n" + PRIMARY, "'alpha'"),
    "bad choice": ('multiplicity = "bonferroni"\n' + PRIMARY, "'multiplicity'"),
    "bad flare test": ('flare_test = "wilcoxon"\n' + PRIMARY, "'flare_test'"),
    "one group": ('compared = ["mutation_positive"]\n' + PRIMARY, "'compared'"),
    "main rule as sensitivity": (
        'sensitivity_group_rules = ["strict"]\n' + PRIMARY,
        "'sensitivity_group_rules'",
    ),
    "bad tissue choice": ('non_blood_negative = "yes"\n' + PRIMARY, "'non_blood_negative'"),
    "newline in a key": ('"a\\nb" = 1\n' + PRIMARY, "a\\nb"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_plan_is_one_line_naming_file_and_key(case: str, tmp_path: Path) -> None:
    text, key = BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(InputFileError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert isinstance(caught.value, Nlrp3AnnotError)
    assert message.startswith(f"{path}: ")
    assert key in message
    assert "\n" not in message


def test_the_entry_of_a_bad_end_point_is_named(tmp_path: Path) -> None:
    text = 'primary = [\n  { measure = "saa", change = ["baseline", "month3"] },\n'
    text += '  { measure = "saa", change = ["month3", "month9"] },\n]\n'
    with pytest.raises(InputFileError, match=r"'primary.change' \(entry 2\).*'month9'"):
        load_plan(write(tmp_path, text))


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, PRIMARY + "alpha = = 0.05\n")
    with pytest.raises(InputFileError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid TOML")
    assert "line 2" in message
    assert "\n" not in message


def test_a_missing_plan_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(InputFileError, match="absent.toml: cannot read"):
        load_plan(path)


def test_a_responder_threshold_the_rule_refuses_is_one_line(tmp_path):
    """TOML allows inf: the plan's responder rule refuses it as a plan error, not a traceback."""
    path = tmp_path / "plan.toml"
    path.write_text(PRIMARY + "[responder]\nbelow = { saa = inf }\n")
    with pytest.raises(InputFileError) as caught:
        load_plan(path)
    assert "plan.toml" in str(caught.value) and "\n" not in str(caught.value)


def test_the_plan_may_count_a_non_blood_negative_and_says_so(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, 'non_blood_negative = "negative"\n' + PRIMARY))
    assert plan.non_blood_negative == "negative"
    assert any("counted as mutation-negative" in line for line in describe_plan(plan))
    assert not any("counted as mutation-negative" in line for line in describe_plan(default_plan()))


ADJUSTED = __import__("re").compile(r"(?<!un)adjusted (\(|P)")


def test_the_report_follows_the_plan_it_ran(demo: Path, tmp_path: Path) -> None:
    """A plan of SAA baseline->month3 only, multiplicity none, within-group descriptive, time
    to flare secondary: its title on the report, no warning about Wilcoxon's smallest P or
    month 3->flare, no 'adjusted', a sentence for the secondary time to flare with its
    log-rank P (from logrank.tsv), and no long float in the page's text."""
    import html
    import re

    from nlrp3annot.cli import main

    plan = write(tmp_path, 'title = "SAA at month 3, plain"\nmultiplicity = "none"\n'
                 'time_to_flare = "secondary"\n' + PRIMARY)  # fmt: skip
    out = tmp_path / "r"
    assert main(["compare", "--genotypes", str(demo / "annotation" / "patients.tsv"),
                 "--clinical", str(demo / "inputs" / "response.xlsx"),
                 "--samples", str(demo / "inputs" / "samples.csv"), "-o", str(out),
                 "--plan", str(plan), "-q"]) == 0  # fmt: skip
    page = (out / "report.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S)))
    assert "SAA at month 3, plain" in text
    warnings = json.loads((out / "summary.json").read_text())["comparison"]["warnings"]
    assert not [w for w in warnings if "Wilcoxon" in w or "month3->flare" in w], warnings
    claimed = [text[m.start() - 80 : m.end() + 20] for m in ADJUSTED.finditer(text)]
    assert not claimed, claimed
    logrank = [x.split("\t") for x in (out / "tables" / "logrank.tsv").read_text().splitlines()]
    found = re.search(r"<ul class='secondary'>(.*?)</ul>", page, re.S)
    assert found and "time to flare" in found.group(1)
    # no number with 7 or more significant digits (4 is how the tables round)
    assert re.search(r"\b0\.0*[1-9]\d{6,}|\b[1-9]\d*\.\d{6,}", text) is None
    assert len(logrank) >= 2
