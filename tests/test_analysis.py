"""The comparison job end to end: the bundled demo's statistics against scipy/lifelines/
statsmodels computed here from the raw demo tables, clinical edge cases through the
'compare' command, and the HTML report opened in headless Chromium."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import compare_args, headless_chromium
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from statsmodels.stats.multitest import multipletests
from test_compare import mann_whitney_enumeration_p, signed_rank_enumeration_p

from nlrp3annot.cli import main
from nlrp3annot.errors import Nlrp3AnnotError


def raw_demo_values(folder: Path) -> pd.DataFrame:
    """The workbook read cell by cell with openpyxl: CRP mg/dL -> mg/L (x10), '<5' at 5."""
    sheet = openpyxl.load_workbook(folder / "inputs" / "response.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    visits = {"Baseline": "baseline", "Month 3": "month3", "Flare": "flare"}
    columns = {
        "SAA (mg/L)": ("saa", 1.0),
        "CRP (mg/dL)": ("crp", 10.0),
        "Diary score": ("diary", 1.0),
        "ESR (mm/h)": ("esr", 1.0),
    }
    out = []
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=True))
        for column, (measure, factor) in columns.items():
            text = str(cells[column])
            value = float(text.lstrip("<")) * factor
            mark = "<" if text.startswith("<") else ""
            out.append((cells["Patient ID"], visits[cells["Visit"]], measure, value, mark))
    return pd.DataFrame(out, columns=["patient_id", "visit", "measure", "value", "censored"])


def change_intervals(values: pd.DataFrame, measure: str, earlier: str, later: str, patients):
    """later - earlier per patient as a closed interval (a '<L' value lies in [0, L): its
    open end nudged inward by EPS, as test_censored writes them)."""
    from test_censored import EPS

    at = {(r.patient_id, r.visit): (r.value, r.censored) for r in
          values[values["measure"] == measure].itertuples(index=False)}  # fmt: skip
    out = []
    for patient in sorted(patients):
        if (patient, earlier) not in at or (patient, later) not in at:
            continue
        (a, a_mark), (b, b_mark) = at[(patient, earlier)], at[(patient, later)]
        a_low, a_high = (0.0, a - EPS) if a_mark else (a, a)
        b_low, b_high = (0.0, b - EPS) if b_mark else (b, b)
        out.append((b_low - a_high, b_high - a_low))
    return out


def raw_groups(folder: Path) -> dict[str, str]:
    with (folder / "inputs" / "samples.csv").open() as handle:
        sample_to_patient = {r["sample_id"]: r["patient_id"] for r in csv.DictReader(handle)}
    with (folder / "annotation" / "patients.tsv").open() as handle:
        statuses = {}
        for r in csv.DictReader(handle, delimiter="\t"):
            statuses.setdefault(sample_to_patient[r["sample"]], set()).add(r["status"])
    return {
        p: "mutation_positive" if any(s.startswith("positive") for s in st) else "mutation_negative"
        for p, st in statuses.items()
    }


def test_demo_statistics_equal_an_independent_computation(demo: Path):
    summary = json.loads((demo / "summary.json").read_text())
    comparison = summary["comparison"]
    values = raw_demo_values(demo)
    groups = raw_groups(demo)
    # 12 + the mosaic the old assay missed (P18, in its VCF) + the one only the reads show (P16)
    assert sorted(groups.values()).count("mutation_positive") == 14
    wide = values.pivot_table(
        index=["patient_id", "measure"], columns="visit", values="value"
    ).reset_index()
    wide["group"] = wide["patient_id"].map(groups)

    for d in comparison["descriptives"]:
        if d["group"] == "all":
            continue
        cell = values[(values["measure"] == d["measure"]) & (values["visit"] == d["visit"])]
        cell = cell[cell["patient_id"].map(groups) == d["group"]]["value"]
        assert d["n"] == len(cell)
        if d["median_text"].startswith("<"):  # the median falls on a below-limit value
            assert d["median"] is None
            continue
        assert d["median"] == pytest.approx(np.median(cell))
        assert d["q1"] == pytest.approx(np.percentile(cell, 25))
        assert d["q3"] == pytest.approx(np.percentile(cell, 75))

    checked = 0
    for w in comparison["within"]:
        if w["group"] == "all" or w["change"] != "baseline->month3":
            continue
        rows = wide[(wide["measure"] == w["measure"]) & (wide["group"] == w["group"])]
        # values carry at most 2 decimals: round away float noise so equal changes tie
        diff = (rows["month3"] - rows["baseline"]).dropna().round(9)
        assert w["n"] == len(diff)
        censored = values[(values["measure"] == w["measure"]) & (values["censored"] != "")]
        if w["median_diff"] is not None or not len(censored):
            assert w["median_diff"] == pytest.approx(np.median(diff))
        # at most 50 pairs: exact, ties or not; a change from a "<5" is tested as the
        # interval it is (issue 26), and with every change negative P is the same 2 / 2**n
        in_group = censored["patient_id"].map(groups) == w["group"]
        assert w["method"] == ("interval ranks exact" if in_group.any() else "exact")
        assert w["p"] == pytest.approx(signed_rank_enumeration_p(diff.to_numpy()), rel=1e-9)
        checked += 1
    assert checked == 8  # 4 measures x 2 groups
    for w in comparison["within"]:  # "all": every change one way makes P = 2 / 2**n exactly
        rows = wide[wide["measure"] == w["measure"]]
        diff = (rows["month3"] - rows["baseline"]).dropna().round(9)
        if w["group"] == "all" and w["change"] == "baseline->month3" and (diff < 0).all():
            assert w["p"] == pytest.approx(2 / 2 ** len(diff), rel=1e-12)
            checked += 1
    assert checked > 8

    for b in comparison["between"]:
        rows = wide[wide["measure"] == b["measure"]]
        earlier, later = b["change"].split("->")
        if earlier not in wide.columns or later not in wide.columns:
            # the default plan's month 6 and retreatment (issue 26): the workbook has neither
            # visit, so the row says so and has no test, rather than failing
            assert {earlier, later} & {"month6", "retreatment"}
            assert (b["n1"], b["n2"], b["p"]) == (0, 0, None) and "no patient" in b["note"]
            continue
        change = (rows[later] - rows[earlier]).round(9)
        pos = change[rows["group"] == "mutation_positive"].dropna().to_numpy()
        neg = change[rows["group"] == "mutation_negative"].dropna().to_numpy()
        if b["method"] == "Gehan exact":  # a below-limit value enters a change
            from test_censored import enumeration_p

            x, y = (change_intervals(values, b["measure"], earlier, later,
                                     [p for p, g in groups.items() if g == group])
                    for group in ("mutation_positive", "mutation_negative"))  # fmt: skip
            assert b["p"] == pytest.approx(enumeration_p(x, y), rel=1e-9)
            low = np.median([a[0] - c[1] for a in x for c in y])
            high = np.median([a[1] - c[0] for a in x for c in y])
            assert (b["hl_shift_low"], b["hl_shift_high"]) == pytest.approx((low, high), abs=1e-6)
            continue
        assert b["method"] == "exact"
        assert b["p"] == pytest.approx(mann_whitney_enumeration_p(pos, neg), rel=1e-9)
        assert b["hl_shift"] == pytest.approx(np.median(np.subtract.outer(pos, neg)))

    with (demo / "inputs" / "samples.csv").open() as handle:
        events = {r["patient_id"]: r for r in csv.DictReader(handle) if r["withdrawal_day"]}
    assert len(events) == 11
    durations = {
        g: [
            float(r["flare_day"]) - float(r["withdrawal_day"])
            for p, r in events.items()
            if groups[p] == g
        ]
        for g in ("mutation_positive", "mutation_negative")
    }
    for group, times in durations.items():
        fitter = KaplanMeierFitter().fit(times, [1] * len(times))
        km = comparison["time_to_flare"]["groups"][group]
        assert km["n"] == len(times) and km["events"] == len(times)
        assert km["median"] == pytest.approx(fitter.median_survival_time_)
    expected_logrank = logrank_test(
        durations["mutation_positive"],
        durations["mutation_negative"],
        [1] * len(durations["mutation_positive"]),
        [1] * len(durations["mutation_negative"]),
    ).p_value
    assert comparison["time_to_flare"]["logrank"]["p"] == pytest.approx(expected_logrank)

    # The NEJM 2006 plan asks the study's question (issue 26): each end point's change
    # within all 18 patients, 8 end points: the exact signed-rank P of the changes (diary)
    # or log ratios (markers) by enumeration; where a "<5" value enters, its change is the
    # interval it is, and in the demo every such change is certainly of one sign, so the P
    # is 2 / 2**n over the n non-zero changes. Holm over the 8.
    family = comparison["primary_endpoints"]
    assert (family["table"], family["family_size"]) == ("study_endpoints", 8)
    endpoints = family["endpoints"]
    expected = []
    for e in endpoints:
        earlier, later = e["change"].split("->")
        cells = values[values["measure"] == e["measure"]]
        at = {(r.patient_id, r.visit): (r.value, r.censored) for r in cells.itertuples()}
        pairs = [(at[(p, earlier)], at[(p, later)]) for p in sorted(groups)
                 if (p, earlier) in at and (p, later) in at]  # fmt: skip
        assert e["endpoint"] == f"all patients: {e['endpoint'].split(': ')[1]}"
        assert e["n1"] == len(pairs)
        if not any(a_mark or b_mark for (_, a_mark), (_, b_mark) in pairs):
            d = np.array([round(b - a, 9) if e["measure"] == "diary" else np.log(b / a)
                          for (a, _), (b, _) in pairs])  # fmt: skip
            expected.append(signed_rank_enumeration_p(d))
            continue
        intervals = change_intervals(values, e["measure"], earlier, later, sorted(groups))
        nonzero = [(low, high) for low, high in intervals if (low, high) != (0.0, 0.0)]
        signs = {np.sign(low) for low, _ in nonzero} | {np.sign(high) for _, high in nonzero}
        assert len(signs) == 1 and 0 not in signs, e["endpoint"]  # all one way, certainly
        expected.append(min(1.0, 2 / 2 ** len(nonzero)))
    assert [e["p"] for e in endpoints] == pytest.approx(expected, rel=1e-12)
    holm = multipletests(expected, method="holm")[1]
    assert [e["p_adjusted"] for e in endpoints] == pytest.approx(holm, rel=1e-9)
    # the genotype comparison of the same end points and time to flare is exploratory:
    # unadjusted, labelled so; its diary rows are the between table's P checked above
    genotype = comparison["genotype_endpoints"]
    assert genotype["role"] == "exploratory" and len(genotype["endpoints"]) == 9
    assert all(e["p_adjusted"] is None for e in genotype["endpoints"])
    between = {(b["measure"], b["change"]): b["p"] for b in comparison["between"]}
    for e in genotype["endpoints"]:
        if e["measure"] == "diary":
            assert e["p"] == pytest.approx(between[("diary", e["change"])], rel=1e-12)


def test_every_patient_is_accounted_for_and_mosaic_detection_matters(demo: Path):
    summary = json.loads((demo / "summary.json").read_text())
    patients = {p["patient_id"]: p for p in summary["patients"]}
    assert len(patients) == 18 and all(p["in_comparison"] for p in patients.values())
    assert patients["P18"]["status"] == "positive_mosaic"  # the old assay's negative
    assert patients["P09"]["status"] == "positive_mosaic"  # blood and buccal samples
    # negative by the old assay and in its VCF; its deep reads, scanned, show a 4.5% mosaic
    assert patients["P16"]["status"] == "positive_mosaic"
    assert patients["P17"]["status"] == "negative"  # its reads reach the limit of detection


def write_inputs(folder: Path) -> tuple[Path, Path, Path]:
    genotypes = folder / "patients.tsv"
    genotypes.write_text(
        "file\tsample\tstatus\tbest_variant\thgvs_p_sample\tzygosity\tvaf\t"
        "clinvar_significance\tcaps_phenotype\tpenetrance\tvariants\tnote\n"
        "a.vcf\tS1\tpositive_germline\tc.907G>A\tp.Asp303Asn\thet\t0.5\tP\t\t\t1\t\n"
        "a.vcf\tS2\tnegative\t\t\t\t\t\t\t\t0\t\n"
        "a.vcf\tS3\tvus_only\tc.592G>A\tp.Val198Met\thet\t0.5\tC\t\tlow\t1\t\n"
        "a.vcf\t<b>S4&</b>\tnegative\t\t\t\t\t\t\t\t0\t\n"
    )
    clinical = folder / "response.csv"
    clinical.write_text(
        "patient_id,visit,day,measure,value,unit\n"
        "P1,baseline,0,CRP,5.0,mg/dL\n"
        "P1,month3,90,CRP,3,mg/L\n"
        "P1,baseline,0,SAA,180,mg/L\n"
        "P1,month3,90,SAA,<5,mg/L\n"
        "P2,baseline,0,CRP,40,mg/L\n"
        "P2,month3,90,CRP,0.4,mg/dL\n"
        "P2,month3,90,SAA,ND,mg/L\n"
        "P3,baseline,0,CRP,30,mg/L\n"
        "<b>P4&</b>,baseline,0,CRP,20,mg/L\n"
        "P5,baseline,0,CRP,10,mg/L\n"
    )
    samples = folder / "samples.csv"
    samples.write_text(
        "patient_id,sample_id,withdrawal_day,flare_day\n"
        "P1,S1,90,93\nP2,S2,,\nP3,S3,,\n<b>P4&</b>,<b>S4&</b>,,\n"
    )
    return genotypes, clinical, samples


def test_compare_handles_units_censoring_and_missing_patients(tmp_path: Path):
    genotypes, clinical, samples = write_inputs(tmp_path)
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *compare_args(genotypes, clinical, samples, out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    measurements = pd.read_csv(out / "tables" / "measurements.tsv", sep="\t", keep_default_na=False)
    crp = measurements[measurements["measure"] == "crp"].set_index(["patient_id", "visit"])
    assert crp.loc[("P1", "baseline"), "value"] == pytest.approx(50.0)  # 5.0 mg/dL x 10
    assert crp.loc[("P1", "month3"), "value"] == pytest.approx(3.0)  # already mg/L
    assert crp.loc[("P2", "month3"), "value"] == pytest.approx(4.0)
    saa = measurements[measurements["measure"] == "saa"].set_index(["patient_id", "visit"])
    assert saa.loc[("P1", "month3"), "censored"] == "<"  # kept at the limit, not dropped
    assert saa.loc[("P1", "month3"), "value"] == pytest.approx(5.0)
    skipped = pd.read_csv(out / "tables" / "clinical_skipped.tsv", sep="\t")
    assert "ND" in " ".join(skipped["reason"].astype(str))
    patients = pd.read_csv(out / "tables" / "patients.tsv", sep="\t", keep_default_na=False)
    by_id = patients.set_index("patient_id")
    assert by_id.loc["P5", "group"] == "no_genotype"  # clinical only: listed, not dropped
    assert by_id.loc["P5", "in_samples_sheet"] in (False, "False")
    assert by_id.loc["P3", "group"] == "vus"  # never silently negative
    assert by_id.loc["P2", "group"] == "mutation_negative"
    assert len(patients) == 5


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
def test_report_opens_in_headless_chromium_with_plots_tables_and_escaped_ids(tmp_path: Path):
    genotypes, clinical, samples = write_inputs(tmp_path)
    out = tmp_path / "results"
    assert main([*compare_args(genotypes, clinical, samples, out), "-q"]) == 0
    page = (out / "report.html").read_text()
    assert "<b>P4&" not in page and "&lt;b&gt;P4&amp;&lt;/b&gt;" in page
    proc = headless_chromium(tmp_path, "--dump-dom", (out / "report.html").as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Uncaught" not in proc.stderr and "ERROR:CONSOLE" not in proc.stderr
    dom = proc.stdout
    assert dom.count('class="plot"') >= 5  # trajectories, change boxes, Kaplan-Meier
    for anchor in ("table-descriptives", "table-within", "table-between", "patients", "methods"):
        assert f'id="{anchor}"' in dom
    assert "&lt;b&gt;P4&amp;&lt;/b&gt;" in dom  # shown as text, not markup
    # above the figures: the plan, the answer (time to flare in it), responders, sensitivity
    above = dom[: dom.index('id="plots"')]
    for anchor in ("plan", "headline", "table-headline", "responders", "sensitivity", "power"):
        assert f'id="{anchor}"' in above, anchor
    assert "Analysis plan: NEJM 2006 end points" in above
    assert "After withdrawal, time to flare" in above and "adjusted (Holm over" in above


def test_a_plan_file_changes_the_headline_and_its_adjustment(tmp_path: Path, capsys):
    genotypes, clinical, samples = write_inputs(tmp_path)
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'title = "CRP only"\n'
        'time_to_flare = "secondary"\n'
        'multiplicity = "fixed_sequence"\n'
        'primary = [{ measure = "crp", change = ["baseline", "month3"] }]\n'
    )
    out = tmp_path / "results"
    assert main([*compare_args(genotypes, clinical, samples, out), "--plan", str(plan), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    family = summary["comparison"]["primary_endpoints"]
    # the plan leaves the question at its default, the study's (issue 26): CRP's change
    # within all patients is the family of one
    assert family["table"] == "study_endpoints"
    assert [e["endpoint"] for e in family["endpoints"]] == ["all patients: CRP baseline->month3"]
    assert family["endpoints"][0]["p_adjusted"] == family["endpoints"][0]["p"]  # one test
    assert summary["plan"]["title"] == "CRP only" and summary["plan"]["source"] == str(plan)
    page = (out / "report.html").read_text()
    # one sentence for the study's question (the family of one), one for the genotype
    # comparison of the same end point (exploratory, unadjusted)
    study = page[page.index("id='study-question'") : page.index("id='genotype-question'")]
    assert study.count("<li>") == 1 and "fixed sequence over 1 test(s)" in study
    genotype = page[page.index("id='genotype-question'") : page.index("id='table-headline'")]
    assert genotype.count("<li>") == 1 and "fixed sequence" not in genotype
    assert "exploratory" in genotype and "not adjusted for multiplicity" in genotype

    bad = tmp_path / "bad.toml"
    bad.write_text('primary = [{ measure = "crp", change = ["baseline", "month9"] }]\n')
    assert main([*compare_args(genotypes, clinical, samples, tmp_path / "r2"), "--plan",
                 str(bad), "-q"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml" in err[0] and "month9" in err[0]
    assert not (tmp_path / "r2").exists()  # refused before any work


def test_the_default_plan_prints_and_loads_back(tmp_path: Path, capsys):
    from nlrp3annot.response.plan import default_plan, load_plan

    assert main(["plan"]) == 0
    written = tmp_path / "plan.toml"
    written.write_text(capsys.readouterr().out)
    assert load_plan(written).primary == default_plan().primary


def test_no_output_names_the_staging_folder(demo: Path):
    """The scan's VCFs are written in a staging folder renamed at the end: the annotation
    tables name them relative to the results folder."""
    for table in (demo / "annotation").glob("*.tsv"):
        assert ".staging" not in table.read_text(), table.name
    patients = (demo / "annotation" / "patients.tsv").read_text()
    assert "annotation/scan/P16-amplicon.scan.vcf.gz" in patients


def test_run_chains_annotation_and_comparison(demo: Path, tmp_path: Path):
    inputs = demo / "inputs"
    listing = tmp_path / "vcfs.txt"
    vcfs = sorted((inputs / "vcf").glob("*.vcf.gz"))
    reads = sorted((inputs / "reads").glob("*.cram"))  # scanned by run, beside the VCFs
    listing.write_text("\n".join(str(p) for p in [*vcfs, *reads]))
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "--list",
                str(listing),
                "--fasta",
                str(inputs / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"),
                "--clinical",
                str(inputs / "response.xlsx"),
                "--samples",
                str(inputs / "samples.csv"),
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    ran = json.loads((out / "summary.json").read_text())
    demo_summary = json.loads((demo / "summary.json").read_text())
    assert ran["groups"] == demo_summary["groups"]
    assert ran["comparison"]["between"] == demo_summary["comparison"]["between"]
    assert (out / "annotation" / "calls.tsv").exists() and (out / "report.html").exists()
    assert (out / "annotation" / "scan" / "P16-amplicon.scan.vcf.gz").exists()


def test_run_with_a_failed_vcf_exits_non_zero(demo: Path, tmp_path: Path, capsys):
    """One VCF of the list is broken: the others are compared, and the exit code says the
    result is not whole (it was 0)."""
    inputs = demo / "inputs"
    broken = tmp_path / "broken.vcf"
    broken.write_text("this is not a VCF\n")
    listing = tmp_path / "vcfs.txt"
    vcfs = sorted((inputs / "vcf").glob("*.vcf.gz"))
    listing.write_text("\n".join([*map(str, vcfs), str(broken)]))
    code = main(
        [
            "run",
            "--list",
            str(listing),
            "--fasta",
            str(inputs / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"),
            "--clinical",
            str(inputs / "response.xlsx"),
            "--samples",
            str(inputs / "samples.csv"),
            "-o",
            str(tmp_path / "run"),
            "-q",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "broken.vcf" in err and "some VCFs failed" in err
    assert (tmp_path / "run" / "summary.json").exists()


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00\x81binary\x00\x9c" * 20])
def test_compare_refuses_an_empty_or_binary_genotypes_file(
    demo: Path, tmp_path: Path, capsys, content
):
    genotypes = tmp_path / "patients.tsv"
    genotypes.write_bytes(content)
    inputs = demo / "inputs"
    code = main(
        [
            "compare",
            "--genotypes",
            str(genotypes),
            "--clinical",
            str(inputs / "response.xlsx"),
            "--samples",
            str(inputs / "samples.csv"),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "patients.tsv" in err


def test_unused_clinical_cells_are_said_on_stderr(demo: Path, tmp_path: Path, capsys):
    """Cells the tables cannot use (ND here) are counted on stderr, not only in a file."""
    inputs = demo / "inputs"
    table = pd.read_excel(inputs / "response.xlsx", dtype=str)
    table.loc[table.index[:3], "SAA (mg/L)"] = "ND"
    clinical = tmp_path / "response.csv"
    table.to_csv(clinical, index=False)
    code = main(
        [
            "compare",
            "--genotypes",
            str(demo / "annotation" / "patients.tsv"),
            "--clinical",
            str(clinical),
            "--samples",
            str(inputs / "samples.csv"),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0
    # the closing summary's "skipped" line (issue 27: one summary at the end of a run)
    assert "3 clinical/samples rows or cells" in err and "clinical_skipped.tsv" in err


def _measured(*patients: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"patient_id": p, "visit": "baseline", "day": 0, "measure": "saa", "value": 5.0,
             "unit": "mg/L", "censored": ""}
            for p in patients
        ]
    )  # fmt: skip


def test_sample_ids_differing_in_case_get_a_hint():
    """A samples sheet that writes P01-Blood for the VCF's p01-blood: the patient has no
    genotype (IDs are matched exactly), and the accounting says why; the VCF sample is
    listed apart, in no group."""
    from nlrp3annot.response.tables.cohort import join

    genotypes = pd.DataFrame(
        [{"file": "a.vcf", "sample": s, "status": "negative"} for s in ("p01-blood", "S2", "S3")]
    )
    pairs = (("P01", "P01-Blood"), ("P2", "S2"), ("P3", "S3"))
    samples = pd.DataFrame([{"patient_id": p, "sample_id": s} for p, s in pairs])
    cohort = join(genotypes, samples, _measured("P01", "P2", "P3"))
    accounting = cohort.accounting.set_index("patient_id")
    assert "no genotype" in accounting.loc["P01", "note"]
    assert "'p01-blood'" in accounting.loc["P01", "note"]
    assert accounting.loc["p01-blood", "group"] == "sample_not_in_samples_sheet"
    assert not accounting.loc["p01-blood", "in_comparison"]


def test_when_most_clinical_ids_match_no_genotype_the_join_stops_with_the_fix():
    from nlrp3annot.response.tables.cohort import join

    genotypes = pd.DataFrame(
        [{"file": "a.vcf", "sample": f"S{i}", "status": "negative"} for i in range(4)]
    )
    samples = pd.DataFrame([{"patient_id": f"P{i}", "sample_id": f"S{i}"} for i in range(4)])
    with pytest.raises(Nlrp3AnnotError) as error:  # USUBJID with a study prefix
        join(genotypes, samples, _measured(*(f"NOMID-01-P{i}" for i in range(4))))
    text = str(error.value)
    assert "only 0 of 4 clinical patients have a genotype" in text
    assert "NOMID-01-P0" in text and "P0" in text and "remove 'NOMID-01-'" in text
    lower = pd.DataFrame([{"file": "a.vcf", "sample": "p0", "status": "negative"}])
    with pytest.raises(Nlrp3AnnotError, match="differ in case"):
        join(lower, pd.DataFrame([{"patient_id": "P0", "sample_id": "P0"}]), _measured("P0"))


def test_event_days_merge_over_a_patients_sample_rows():
    """A buccal row without days before the blood row with them: the patient keeps the
    days (the first row alone used to leave them out of time to flare); two different
    values of one day stop with both named."""
    from nlrp3annot.response.tables.cohort import _events

    sheet = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2"],
            "sample_id": ["P1-buccal", "P1-blood", "P2-blood"],
            "withdrawal_day": [None, 90, 120],
            "flare_day": [None, 97, None],
        }
    )
    events = _events(sheet).set_index("patient_id")
    assert events.loc["P1", "withdrawal_day"] == 90 and events.loc["P1", "flare_day"] == 97
    assert events.loc["P2", "withdrawal_day"] == 120
    sheet.loc[0, "withdrawal_day"] = 60
    with pytest.raises(Nlrp3AnnotError, match="withdrawal_day 60 and 90"):
        _events(sheet)


def test_formula_like_ids_are_inert_in_every_tsv_and_still_join(tmp_path: Path):
    """Sample and patient IDs that a spreadsheet would run (=HYPERLINK, +cmd DDE) are written
    with a leading apostrophe in every TSV (OWASP's CSV-injection rule), read back exactly by
    `compare`, so the join still finds them."""
    import csv

    from conftest import TEST_FASTA

    hyperlink = '=HYPERLINK("http://evil.example","x")'
    dde = "+cmd|' /C calc'!A0"
    vcf = tmp_path / "hostile.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{hyperlink}\t{dde}\n"
        "chr1\t247424227\t@rs1\tC\tT\t.\tPASS\t.\tGT:AD:DP\t0/1:20,20:40\t0/0:40,0:40\n"
    )
    calls, patients = tmp_path / "calls.tsv", tmp_path / "patients.tsv"
    assert (
        main(
            ["annotate", str(vcf), "--fasta", str(TEST_FASTA["GRCh38"]), "-o", str(calls)]
            + ["--patients", str(patients), "-q"]
        )
        == 0
    )

    def cells(path: Path) -> list[dict]:
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle, delimiter="\t"))

    assert {r["sample"] for r in cells(calls)} == {"'" + hyperlink}
    assert {r["id"] for r in cells(calls)} == {"'@rs1"}
    assert {r["sample"] for r in cells(patients)} == {"'" + hyperlink, "'" + dde}
    clinical = tmp_path / "response.csv"
    clinical.write_text(
        "patient_id,visit,day,measure,value,unit\n"
        f'"{hyperlink.replace(chr(34), chr(34) * 2)}",baseline,0,CRP,20,mg/L\n'
        f"{dde},baseline,0,CRP,10,mg/L\n"
    )
    samples = tmp_path / "samples.csv"
    samples.write_text(
        "patient_id,sample_id\n"
        + "".join(f'"{x.replace(chr(34), chr(34) * 2)}","{x.replace(chr(34), chr(34) * 2)}"\n'
                  for x in (hyperlink, dde))
    )  # fmt: skip
    out = tmp_path / "results"
    assert (
        main(
            ["compare", "--genotypes", str(patients), "--clinical", str(clinical)]
            + ["--samples", str(samples), "-o", str(out), "-q"]
        )
        == 0
    )
    accounting = cells(out / "tables" / "patients.tsv")
    assert {r["patient_id"] for r in accounting} == {"'" + hyperlink, "'" + dde}
    summary = json.loads((out / "summary.json").read_text())
    statuses = {p["patient_id"]: p.get("status") for p in summary["patients"]}
    assert statuses == {hyperlink: "positive_germline", dde: "negative"}  # joined as written
    for table in (out / "tables").glob("*.tsv"):
        for row in cells(table):
            for value in row.values():
                assert not (value or "").startswith(("=", "+", "@")), (table.name, value)


def test_summary_records_what_reproduces_the_numbers(demo: Path, tmp_path: Path):
    """summary.json names the version, the command, each input's SHA-256 (VCFs and FASTA of
    a run too, recomputed here with hashlib), the ClinVar table and library versions."""
    import hashlib

    inputs = demo / "inputs"
    vcfs = sorted((inputs / "vcf").glob("*.vcf.gz"))
    fasta = inputs / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
    out = tmp_path / "run"
    assert (
        main(
            ["run", *map(str, vcfs), "--fasta", str(fasta), "--clinical"]
            + [str(inputs / "response.xlsx"), "--samples", str(inputs / "samples.csv")]
            + ["-o", str(out), "-q"]
        )
        == 0
    )
    provenance = json.loads((out / "summary.json").read_text())["provenance"]
    hashes = provenance["inputs_sha256"]
    for path in (*vcfs, fasta, inputs / "response.xlsx", inputs / "samples.csv"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in hashes.values(), path.name
    assert hashes[f"vcf {vcfs[0].name}"] == hashlib.sha256(vcfs[0].read_bytes()).hexdigest()
    assert provenance["nlrp3annot"] and "run" in provenance["command"]
    assert provenance["clinvar"]["date"] and set(provenance["software"]) >= {"scipy", "pandas"}


def test_the_report_answers_first_with_the_tables_numbers(demo: Path):
    """The headline comes before every figure and table, one sentence per measure and
    change, and its numbers are the ratio and between-group tables' own."""
    import html
    import re

    import pandas as pd

    page = (demo / "report.html").read_text()
    assert page.index("id='headline'") < page.index("id='plots'")
    answer = page[page.index("id='headline'") : page.index("id='table-headline'")]
    sentences = [html.unescape(s) for s in re.findall(r"<li>(.*?)</li>", answer)]
    study = pd.read_csv(demo / "tables" / "study_endpoints.tsv", sep="\t")
    family = pd.read_csv(demo / "tables" / "genotype_endpoints.tsv", sep="\t")
    ratios = pd.read_csv(demo / "tables" / "ratios_between.tsv", sep="\t")
    # the plan's question first (issue 26: the study's, within all patients, Holm over its
    # 8), then the genotype comparison (exploratory), time to flare included
    assert len(sentences) == len(study) + len(family) == 8 + 9
    for row, sentence in zip(study.itertuples(index=False), sentences[:8], strict=True):
        assert sentence.startswith(f"All patients, {row.endpoint.split(': ')[1]}: ")
        assert f"adjusted ({row.adjustment})" in sentence  # the P shown is the adjusted one
        adjusted = f"{row.p_adjusted:.2g}" if row.p_adjusted >= 0.001 else f"{row.p_adjusted:.1e}"
        assert f"P = {adjusted} adjusted" in sentence and row.adjustment == "Holm over 8 test(s)"
        shown = f"{row.p:.2g}" if row.p >= 0.001 else f"{row.p:.1e}"
        assert f"unadjusted P = {shown}" in sentence
        null = 0.0 if row.scale == "change" else 1.0
        assert (row.ci_lower > null or row.ci_upper < null) == (row.p < 0.05), row.endpoint
    sentences = sentences[8:]
    assert sentences[-1].startswith("After withdrawal, time to flare")
    for row, sentence in zip(family.itertuples(index=False), sentences, strict=True):
        # exploratory: the P shown is the unadjusted one, and said so
        assert "exploratory" in sentence and "not adjusted for multiplicity" in sentence
        assert "P = " not in sentence.replace("unadjusted P = ", "")
        # each interval inverts its test, whose unadjusted P is beside it: it excludes no
        # effect exactly when that P < 0.05 (time to flare: the Firth Cox interval and P)
        p = row.p
        if row.scale == "hazard ratio":
            p = pd.read_csv(demo / "tables" / "hazard_ratio.tsv", sep="\t")["p"].iloc[0]
        shown = f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"
        assert f"unadjusted P = {shown}" in sentence
        null = 0.0 if row.scale == "change" else 1.0
        assert (row.ci_lower > null or row.ci_upper < null) == (p < 0.05), row.endpoint
    for row in ratios.itertuples(index=False):
        if row.change not in set(family["change"]):  # month 6, retreatment: no such visit
            assert row.n1 == row.n2 == 0
            continue
        name = row.measure.upper()
        words = row.change.replace("->", " to ").replace("month3", "month 3")
        mine = [s for s in sentences if s.startswith(f"From {words}, {name} ")]
        assert len(mine) == 1, (name, words)
        assert f"ratio of ratios {row.hl_ratio_of_ratios_text}" in mine[0]
        assert f"(n={row.n1})" in mine[0] and f"(n={row.n2})" in mine[0]
    # the plan, the responders and the sensitivity table come before the figures too
    for anchor in ("id='plan'", "id='responders'", "id='sensitivity'"):
        assert page.index(anchor) < page.index("id='plots'")


def test_inclusion_lists_every_patient_of_every_analysis(demo: Path):
    """tables/inclusion.tsv: a compared patient is in a change's analysis exactly when the
    raw demo table has both visits; the counts are the between-group table's n; anyone left
    out has a reason."""
    import pandas as pd

    inclusion = pd.read_csv(demo / "tables" / "inclusion.tsv", sep="\t", keep_default_na=False)
    between = pd.read_csv(demo / "tables" / "between.tsv", sep="\t")
    values = raw_demo_values(demo)
    groups = raw_groups(demo)
    present = set(zip(values["patient_id"], values["measure"], values["visit"], strict=True))
    for row in inclusion.itertuples(index=False):
        assert row.included or row.reason, row
        if row.analysis == "time to flare" or row.group not in (
            "mutation_positive",
            "mutation_negative",
        ):
            continue
        measure, change = row.analysis.split(" ")
        earlier, later = change.split("->")
        both = {(row.patient_id, measure, earlier), (row.patient_id, measure, later)} <= present
        assert row.included == both, row
    for b in between.itertuples(index=False):
        mine = inclusion[
            (inclusion["analysis"] == f"{b.measure} {b.change}") & inclusion["included"]
        ]
        assert (mine["group"] == b.group1).sum() == b.n1
        assert (mine["group"] == b.group2).sum() == b.n2
    assert set(inclusion["patient_id"]) >= set(groups)


def test_trajectories_follow_the_visits_not_the_file_order():
    import pandas as pd

    from nlrp3annot.response.report.figures import trajectory

    rows = pd.DataFrame(
        {
            "visit": ["flare", "baseline", "month3"],  # sorted by name, as an export may be
            "day": [200.0, 0.0, 90.0],
            "value": [40.0, 100.0, 5.0],
            "censored": ["", "", "<"],
        }
    )
    x, y, marks = trajectory(rows, ["baseline", "month3", "flare"])
    assert x == [0, 1, 2] and y == [100.0, 5.0, 40.0] and marks == ["", "<", ""]


def test_the_same_demo_in_two_working_folders_gives_the_same_bytes(
    tmp_path: Path, capsys, monkeypatch
):
    """Reproducible outputs: `nlrp3annot demo -o r -q` run in two working folders gives
    byte-identical tables (annotation and comparison) and the same input hashes, names no
    staging folder, and prints nothing with -q; with SOURCE_DATE_EPOCH the report, the
    patient pages and the Phenopackets too."""
    import os

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764720000")

    runs = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        here = Path.cwd()
        os.chdir(folder)
        try:
            assert main(["demo", "-o", "r", "-q"]) == 0
        finally:
            os.chdir(here)
        runs.append(folder / "r")
    assert capsys.readouterr().out == ""
    first, second = runs
    tables = sorted(p.relative_to(first) for p in first.glob("*/*.tsv"))
    assert len(tables) > 20
    for table in tables:
        text = (first / table).read_bytes()
        assert text == (second / table).read_bytes(), table
        assert b".staging" not in text, table
    hashes = [json.loads((r / "summary.json").read_text())["provenance"]["inputs_sha256"]
              for r in runs]  # fmt: skip
    assert hashes[0] == hashes[1]
    assert (first / "report.html").read_bytes() == (second / "report.html").read_bytes()
    delivered = sorted(
        p.relative_to(first)
        for p in (*first.glob("patients/*.html"), *first.glob("phenopackets/*.json"))
    )
    assert len(delivered) == 2 * len(pd.read_csv(first / "tables" / "patients.tsv", sep="\t"))
    for path in delivered:
        text = (first / path).read_bytes()
        assert text == (second / path).read_bytes(), path
        assert b".staging" not in text, path


def test_messages_name_files_where_they_will_be(tmp_path: Path, capsys):
    """The run writes into a staging folder renamed at the end: what it says on stderr
    names the results folder, never the staging one."""
    assert main(["demo", "-o", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert ".staging" not in err
    # the closing summary names the skipped list and the report in the results folder
    assert f"{tmp_path / 'r'}/annotation/calls.skipped.tsv" in err
    assert f"{tmp_path / 'r'}/report.html" in err


def test_compare_reads_several_patient_summaries_as_one(demo: Path, tmp_path: Path, capsys):
    """A per-sample workflow's summaries: the demo's patients.tsv split in two gives the
    same comparison as the whole; a sample with different rows in two files is one line."""
    lines = (demo / "annotation" / "patients.tsv").read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    half = len(rows) // 2
    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    first.write_text(header + "".join(rows[:half]))
    second.write_text(header + "".join(rows[half - 1 :]))  # one row in both: identical
    clinical, samples = demo / "inputs" / "response.xlsx", demo / "inputs" / "samples.csv"
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main([*compare_args(demo / "annotation" / "patients.tsv", clinical, samples, whole),
                 "-q"]) == 0  # fmt: skip
    args = compare_args(first, clinical, samples, split)
    at = args.index(str(first))
    assert main([*args[: at + 1], str(second), *args[at + 1 :], "-q"]) == 0
    for table in ("groups", "between", "study_endpoints", "genotype_endpoints"):
        assert (whole / "tables" / f"{table}.tsv").read_bytes() == (
            split / "tables" / f"{table}.tsv"
        ).read_bytes(), table
    summary = json.loads((split / "summary.json").read_text())
    assert set(summary["provenance"]["inputs_sha256"]) >= {"genotypes 1", "genotypes 2"}

    clash = tmp_path / "clash.tsv"
    sample = rows[0].split("\t")[1]
    changed = rows[0].split("\t")
    changed[2] = "negative" if changed[2] != "negative" else "vus_only"
    clash.write_text(header + "\t".join(changed))
    args = compare_args(first, clinical, samples, tmp_path / "r3")
    at = args.index(str(first))
    capsys.readouterr()
    assert main([*args[: at + 1], str(clash), *args[at + 1 :], "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and sample in err[0] and "a.tsv" in err[0] and "clash.tsv" in err[0]
