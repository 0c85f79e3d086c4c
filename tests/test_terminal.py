"""What the commands print (issue 27 point 6): a quiet run that ends with one summary whose
numbers are the results' own (the files written, the report's first screen), per-file
details only with -v, every path from one base, rich tables and bars on a terminal and
plain lines when piped. The terminal form is rich's own detection, switched on by its
TTY_COMPATIBLE variable; the tests run piped otherwise."""

from __future__ import annotations

import csv
import html
import re
from collections import Counter
from pathlib import Path

import pytest

from nlrp3annot.cli import main
from nlrp3annot.cli.terminal import moving, shown

DEMO = Path(__file__).resolve().parents[1] / "nlrp3annot" / "demo"
FASTA = DEMO / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"


def rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def said(lines: list[str], label: str) -> str:
    """The value of the plain summary's ``nlrp3annot: label: value`` line (exactly one)."""
    found = [line.removeprefix(f"nlrp3annot: {label}: ") for line in lines
             if line.startswith(f"nlrp3annot: {label}: ")]  # fmt: skip
    assert len(found) == 1, lines
    return found[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """``nlrp3annot demo -o demo`` run piped from its own folder: (folder, stderr lines,
    stdout)."""
    root = tmp_path_factory.mktemp("terminal")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("TTY_COMPATIBLE", raising=False)
        patch.delenv("FORCE_COLOR", raising=False)
        import contextlib
        import io

        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            assert main(["demo", "-o", "demo"]) == 0
    return root, err.getvalue().splitlines(), out.getvalue()


def test_the_demo_is_quiet_and_ends_with_a_summary_of_its_results(demo):
    root, err, out = demo
    # one line a stage (copy, scan, annotation) and the summary: no line per file
    assert len(err) <= 12, err
    assert not [line for line in err if "  skipped" in line or ".vcf.gz:" in line], err
    patients = rows(root / "demo" / "tables" / "patients.tsv")
    statuses = Counter(p["status"] for p in patients)
    assert said(err, "patients").startswith(f"{len(patients)}: ")
    for status, n in statuses.items():
        assert f"{n} {status}" in said(err, "patients")
    groups = Counter(p["group"] for p in patients if p["in_comparison"] == "True")
    assert said(err, "compared") == " vs ".join(f"{n} {g}" for g, n in groups.most_common())
    skipped = rows(root / "demo" / "annotation" / "calls.skipped.tsv")
    assert said(err, "skipped") == (
        f"{len(skipped)} alleles (listed in demo/annotation/calls.skipped.tsv)"
    )
    # the bottom line is the report's own first sentence for the primary question
    page = (root / "demo" / "report.html").read_text()
    overall = re.findall(r"<p class='overall'>([^<]*)</p>", page)
    assert said(err, "bottom line") == html.unescape(overall[0])
    assert said(err, "results") == "demo/ (summary.json, tables/, 18 patient pages in patients/)"
    assert said(err, "report") == "demo/report.html" and out == "open demo/report.html\n"


def test_every_path_the_demo_prints_is_from_the_current_folder(demo):
    root, err, out = demo
    paths = re.findall(r"(demo/[\w./-]*|annotation/[\w./-]*)", "\n".join([*err, out]))
    assert len(paths) >= 6
    for path in paths:  # none relative to the results folder, none in the staging folder
        assert path.startswith("demo/") and ".staging" not in path, path
        assert (root / path.rstrip(").;,")).exists(), path


def test_annotating_many_files_says_one_line_and_each_file_only_with_verbose(
    tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    vcfs = sorted(str(p) for p in (DEMO / "vcf").glob("P0[1-3]-blood.vcf.gz"))
    args = ["annotate", *vcfs, "--fasta", str(FASTA), "-o", "calls.tsv"]
    assert main(args) == 0
    quiet = capsys.readouterr().err.splitlines()
    skipped = rows(tmp_path / "calls.skipped.tsv")
    reasons = Counter(r["reason"] for r in skipped)
    assert quiet == [
        f"nlrp3annot: annotated 3 files: {len(rows(tmp_path / 'calls.tsv'))} alleles, "
        f"{len(skipped)} skipped ("
        + "; ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        + "; listed in calls.skipped.tsv)"
    ]
    assert main([*args, "-v"]) == 0
    verbose = capsys.readouterr().err.splitlines()
    for vcf in vcfs:  # the files outside the current folder: by their absolute path
        assert sum(line.startswith(f"nlrp3annot: {vcf}: GRCh38") for line in verbose) == 1
    assert sum("  skipped" in line for line in verbose) == 3 and verbose[-1] == quiet[0]


def test_paths_are_shown_from_the_current_folder(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / ".staging-1" / "tables").mkdir(parents=True)
    assert shown(tmp_path / "results" / "report.html") == "results/report.html"
    assert shown("results/../results/x.tsv") == "results/x.tsv"
    assert shown(tmp_path) == "."
    assert shown(tmp_path.parent / "elsewhere.tsv") == str(tmp_path.parent / "elsewhere.tsv")
    with moving(tmp_path / "results" / ".staging-1", tmp_path / "results"):
        assert shown("results/.staging-1/tables/x.tsv") == "results/tables/x.tsv"
    assert shown("results/.staging-1/tables/x.tsv") == "results/.staging-1/tables/x.tsv"


def test_on_a_terminal_the_summary_is_a_table(demo, tmp_path: Path, capsys, monkeypatch):
    root, err, _ = demo
    monkeypatch.chdir(root)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich's own detection says: a terminal
    monkeypatch.setenv("COLUMNS", "250")
    capsys.readouterr()
    inputs = ["--clinical", "demo/inputs/response.xlsx", "--samples", "demo/inputs/samples.csv"]
    code = main(["compare", "--genotypes", "demo/annotation/patients.tsv", *inputs, "-o", "cmp"])
    assert code == 0
    table = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().err)
    assert "nlrp3annot: patients:" not in table  # not the plain form
    lines = [line.strip() for line in table.splitlines()]
    assert lines[0] == "NLRP3 genotype and anakinra response"
    assert any(re.fullmatch(r"bottom line\s+" + re.escape(said(err, "bottom line")), line)
               for line in lines), table  # fmt: skip
    assert any(re.fullmatch(r"report\s+cmp/report.html", line) for line in lines), table


def test_lookup_prints_a_table_on_a_terminal_and_tsv_when_piped(capsys, monkeypatch):
    """R260W: ClinVar VariationID 4374, c.778C>T (reference/clinvar_NLRP3.tsv)."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["lookup", "R260W"]) == 0
    table = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert "query\tclinvar_id" not in table
    assert re.search(r"^\s*4374\s+c\.778C>T\s+p\.Arg260Ter\s+R260W\s", table, re.M), table
    assert "NM_001243133.2" in table.splitlines()[0]
    assert main(["lookup", "R260W", "--tsv"]) == 0
    assert capsys.readouterr().out.startswith("query\tclinvar_id\t")
    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # piped
    assert main(["lookup", "R260W"]) == 0
    assert capsys.readouterr().out.startswith("query\tclinvar_id\t")


def test_a_progress_bar_only_on_a_terminal(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    vcfs = sorted(str(p) for p in (DEMO / "vcf").glob("P0[1-2]-blood.vcf.gz"))
    args = ["annotate", *vcfs, "--fasta", str(FASTA), "-o", "calls.tsv"]
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    assert main(args) == 0
    assert "annotating" not in capsys.readouterr().err
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    assert main(args) == 0
    assert "annotating" in capsys.readouterr().err
