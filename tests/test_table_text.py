"""The result tables hold a computed interval as text ("-0.5 to 0") exactly as written: the
spreadsheet-formula guard (OWASP's CSV-injection rule: a leading apostrophe) is kept for
every cell that could run as a formula and for every cell of a user-text column, and left
off numbers and intervals of numbers, which name nothing a spreadsheet could run."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from nlrp3annot.io.writers import spreadsheet_safe_frame

# written here from the tables' forms, not imported: a number, an interval, open ends
NUMBER = r"-?(?:inf|\d+(?:\.\d*)?(?:e[+-]?\d+)?)"
INTERVAL = re.compile(rf"(?:[<>] ?)?{NUMBER}(?: to (?:[<>] ?)?{NUMBER})?")


@pytest.mark.parametrize(
    "text",
    ["-0.5 to 0", "> -1 to <0", "-3.95 to <-2.8", "-43.5 to -41.5", "-1e+03 to -inf", "-0.5",
     "< 20", "> 0.785 to <2.74"],
)  # fmt: skip
def test_a_computed_interval_is_written_as_it_is(text: str):
    written = spreadsheet_safe_frame(pd.DataFrame({"ci_text": [text]}))
    assert written["ci_text"].iloc[0] == text


@pytest.mark.parametrize(
    "text",
    [
        "-2+3+cmd|' /C calc'!A0",  # DDE behind a number
        "-0.5 to 0+cmd|' /C calc'!A0",
        '-HYPERLINK("http://evil.example","x")',
        "=1 to 2",
        "@SUM(A1)",
        "+cmd|' /C calc'!A0",
        "-A1",
    ],
)
def test_anything_that_could_run_is_still_guarded(text: str):
    written = spreadsheet_safe_frame(pd.DataFrame({"ci_text": [text], "note": [text]}))
    assert list(written.iloc[0]) == ["'" + text] * 2


def test_user_text_columns_keep_the_whole_guard():
    # a patient ID is the user's text: guarded as before even when it reads like a number
    written = spreadsheet_safe_frame(pd.DataFrame({"patient_id": ["-1 to 2"]}))
    assert written["patient_id"].iloc[0] == "'-1 to 2"


def test_the_demo_tables_hold_their_intervals_as_text(demo: Path):
    """No cell of any result table is an apostrophe before a number or interval; the study
    question's interval text reads back as its own ends (to the 3 or 4 digits shown)."""
    for table in sorted((demo / "tables").glob("*.tsv")):
        with table.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                for column, value in row.items():
                    value = value or ""
                    guarded = value.startswith("'") and INTERVAL.fullmatch(value[1:])
                    assert not guarded, (table.name, column, value)
    with (demo / "tables" / "study_endpoints.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    negative = [r for r in rows if r["ci_text"].startswith("-")]
    assert negative  # the diary fell in all patients: an interval below 0
    for r in rows:
        if not r["ci_text"]:
            continue
        low, high = (float(end.lstrip("<> ")) for end in r["ci_text"].split(" to "))
        assert low == pytest.approx(float(r["ci_lower"]), rel=5e-3)
        assert high == pytest.approx(float(r["ci_upper"]), rel=5e-3)
