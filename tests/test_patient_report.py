"""The patient pages of the demo: each one printed by headless Chromium on exactly one A4
sheet, and what a reader must find on it checked against values taken from elsewhere: the
demo's samples sheet (tissues), calls.tsv (allele fractions and their CIs), the scan's
scan.tsv (limits of detection, the scanned mosaic's fraction) and the bundled CAPS table
(legacy names). The page's own text is never the expected value."""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import headless_chromium

from nlrp3annot.cli import main
from nlrp3annot.delivery import records_from_results
from nlrp3annot.delivery.names import file_stems
from nlrp3annot.delivery.patient_report import render_patient
from nlrp3annot.io.output_set import verify

ROOT = Path(__file__).resolve().parents[1]
A4_POINTS = (595.28, 841.89)  # 210 x 297 mm


def rows(path: Path, delimiter: str = "\t") -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@pytest.fixture(scope="module")
def sheet(demo: Path) -> list[dict[str, str]]:
    return rows(demo / "inputs" / "samples.csv", ",")


@pytest.fixture(scope="module")
def statuses(demo: Path) -> dict[str, str]:
    return {r["patient_id"]: r["status"] for r in rows(demo / "tables" / "patients.tsv")}


class _Text(HTMLParser):
    """The text of the element with ``id`` (all of the page when None), spaces collapsed."""

    def __init__(self, element_id: str | None) -> None:
        super().__init__()
        self.element_id, self.depth, self.parts = element_id, 0 if element_id else 1, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and self.element_id:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text(page: Path, element_id: str | None = None) -> str:
    parser = _Text(element_id)
    parser.feed(page.read_text())
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def pct(value: str | float) -> str:
    return f"{100 * float(value):.1f}%"


def pdf_pages(pdf: Path) -> tuple[int, list[tuple[float, float]]]:
    """Pages and their sizes in points (pypdf where installed, else the page objects)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        data = pdf.read_bytes()
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
        count = len(re.findall(rb"/Type\s*/Page\b", data))  # not /Pages
        return count, [(float(w), float(h)) for w, h in boxes]
    reader = PdfReader(pdf)
    return len(reader.pages), [(float(p.mediabox.width), float(p.mediabox.height))
                               for p in reader.pages]  # fmt: skip


@pytest.fixture(scope="module")
def printed(demo: Path, sheet, tmp_path_factory) -> dict[str, Path]:
    """Every demo patient's page printed to PDF by headless Chromium."""
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed")
    folder = tmp_path_factory.mktemp("pdf")
    out = {}
    for patient in sorted({r["patient_id"] for r in sheet}):
        pdf = folder / f"{patient}.pdf"
        page = demo / "patients" / f"{patient}.html"
        proc = headless_chromium(
            folder, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()
        )
        assert proc.returncode == 0 and pdf.is_file(), proc.stderr[-2000:]
        assert "ERROR:CONSOLE" not in proc.stderr and "Uncaught" not in proc.stderr
        out[patient] = pdf
    return out


def test_every_patient_prints_on_one_a4_page(printed: dict[str, Path], sheet):
    assert set(printed) == {r["patient_id"] for r in sheet}
    for patient, pdf in printed.items():
        count, sizes = pdf_pages(pdf)
        assert count == 1, f"{patient}: {count} pages"
        for width, height in sizes:
            assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1, sizes


def test_negative_pages_state_the_limit_of_detection(demo: Path, sheet, statuses):
    """Each negative page says "No pathogenic NLRP3 variant found" and, in the same result,
    what it rests on: the scan's limit in the scanned tissue (the highest limit of
    detection over the known pathogenic alleles in scan.tsv), and for a sample read from a
    VCF that no limit was measured."""
    tissue = {r["sample_id"]: r["tissue"] for r in sheet}
    scan = rows(demo / "annotation" / "scan" / "scan.tsv")
    lod: dict[str, float] = {}
    for r in scan:
        if r["known_pathogenic"] == "True" and r["limit_of_detection"]:
            lod[r["sample"]] = max(lod.get(r["sample"], 0.0), float(r["limit_of_detection"]))
    negatives = [p for p, s in statuses.items() if s == "negative"]
    assert negatives
    scanned_negative = False
    for patient in negatives:
        result = text(demo / "patients" / f"{patient}.html", "result")
        assert result.startswith("Negative:"), (patient, result)
        assert "No pathogenic or likely pathogenic NLRP3 variant found." in result
        for sample in (r["sample_id"] for r in sheet if r["patient_id"] == patient):
            if sample in lod:
                scanned_negative = True
                expected = (
                    f"A mosaic of {pct(lod[sample])} or more at any known pathogenic position "
                    f"would have been found in {tissue[sample]} ({sample}) with 95% power"
                )
                assert expected in result, (patient, result)
            else:
                assert f"In {tissue[sample]} ({sample}), from a variant caller's VCF" in result
                assert "no limit of detection for mosaics was measured" in result
    assert scanned_negative  # the demo's P17: deep reads scanned, nothing found


def test_mosaic_pages_state_fraction_ci_and_tissue(demo: Path, sheet, statuses):
    """A mosaic's fraction and 95% CI as calls.tsv gives them (scan.tsv for the scanned
    one), with the tissue of the samples sheet, in the page's result."""
    tissue = {r["sample_id"]: r["tissue"] for r in sheet}
    owner = {r["sample_id"]: r["patient_id"] for r in sheet}
    calls = [r for r in rows(demo / "annotation" / "calls.tsv") if r["zygosity"] == "mosaic"]
    assert {owner[r["sample"]] for r in calls} == {
        p for p, s in statuses.items() if s == "positive_mosaic"
    }
    for r in calls:
        page = demo / "patients" / f"{owner[r['sample']]}.html"
        expected = (
            f"{tissue[r['sample']]} ({r['sample']}): mosaic fraction {pct(r['vaf'])} "
            f"(95% CI {pct(r['vaf_ci_low'])}\u2013{pct(r['vaf_ci_high'])})"
        )
        assert expected in text(page, "result"), (expected, text(page, "result"))
    called = [
        r for r in rows(demo / "annotation" / "scan" / "scan.tsv") if r["verdict"] == "called"
    ]
    assert called  # the demo's P16: a mosaic only its deep reads show
    for r in called:
        result = text(demo / "patients" / f"{owner[r['sample']]}.html", "result")
        ci = f"(95% CI {pct(r['vaf_ci_lower'])}\u2013{pct(r['vaf_ci_upper'])})"
        assert f"{tissue[r['sample']]} ({r['sample']})" in result
        assert f"mosaic fraction {pct(r['vaf'])} {ci}" in result
        assert r["hgvs_p"].split(":")[-1] in result


def test_germline_r260w_shows_the_sample_protein_and_legacy_name(demo: Path, sheet):
    """The patients calls.tsv gives p.Arg260Trp on their own haplotype (c.778C>T with
    c.780G) show it with the legacy name of the bundled CAPS table, not the reference's
    reading p.Arg260Ter."""
    lines = (ROOT / "reference" / "caps_phenotypes.tsv").read_text().splitlines()
    table = csv.DictReader((x for x in lines if not x.startswith("#")), delimiter="\t")
    legacy = {r["hgvs_p"]: r["legacy"] for r in table}
    owner = {r["sample_id"]: r["patient_id"] for r in sheet}
    carriers = {
        owner[r["sample"]]
        for r in rows(demo / "annotation" / "calls.tsv")
        if r["hgvs_p_sample"].endswith(":p.Arg260Trp") and r["zygosity"] == "het"
    }
    assert carriers
    for patient in carriers:
        page = text(demo / "patients" / f"{patient}.html")
        heading = text(demo / "patients" / f"{patient}.html", "result")
        assert heading.startswith("Positive: NLRP3 p.Arg260Trp (R260W)")
        assert "consistent with germline" in heading
        assert "p.Arg260Trp" in page and f"({legacy['p.Arg260Trp']})" in page
        # ClinVar's own name of its record 4374 is quoted once, in the c.780 context line;
        # nowhere else does the page read the patient's change as p.Arg260Ter
        context = "ClinVar names c.778C>T p.Arg260Ter against the reference's c.780A"
        assert page.count("p.Arg260Ter") == page.count(context) == 1
        assert "R260*" not in page
        assert "heterozygous" in text(demo / "patients" / f"{patient}.html", "result")


def test_demo_pages_say_research_use_and_a_real_run_would_not(demo: Path):
    """The demo genotyped against the test sequence (summary.json says so), so every page
    carries the research-use banner; the same record from a real genome does not."""
    import json

    genotyping = json.loads((demo / "summary.json").read_text())["genotyping"]
    assert genotyping["test_locus"] is True
    assert "NOT THE REAL GENOME" in genotyping["fasta_header"]
    for page in (demo / "patients").glob("*.html"):
        assert "RESEARCH USE ONLY" in text(page, "research-use")
    record = records_from_results(demo)[0]
    real = replace(record, run=replace(record.run, test_locus=False, synthetic=False))
    assert "RESEARCH USE ONLY" not in render_patient(real)


def test_report_command_writes_the_same_pages_and_names_an_unknown_patient(
    demo: Path, tmp_path: Path, capsys, monkeypatch
):
    # the report date is the day a page is written (SOURCE_DATE_EPOCH's when set): pinned to
    # the demo's, so that pages written after midnight compare with the demo's of the day before
    written = re.search(
        r"id='report-date'>([0-9-]+)<", (demo / "patients" / "P01.html").read_text()
    )
    day = datetime.strptime(written.group(1), "%Y-%m-%d").replace(tzinfo=UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(day.timestamp())))
    assert main(["report", str(demo), "P01", "P09", "-o", str(tmp_path / "pages"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == [
        "P01.html",
        "P09.html",
        "index.tsv",
    ]
    for name in ("P01.html", "P09.html"):  # a page is a function of the results alone
        assert (tmp_path / "pages" / name).read_bytes() == (demo / "patients" / name).read_bytes()
    assert main(["report", str(demo), "-q"]) == 0  # into demo/patients: the run's pages again
    assert verify(demo) == []
    capsys.readouterr()
    assert main(["report", str(demo), "P01", "P99", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'P99'" in err[0] and "'P01'" not in err[0]
    assert not (tmp_path / "x").exists()


def test_user_text_is_escaped_and_file_names_are_safe(demo: Path):
    record = records_from_results(demo)[0]
    hostile = replace(record, patient_id="<script>alert(1)</script>")
    page = render_patient(hostile)
    assert "<script>" not in page and "&lt;script&gt;" in page
    names = file_stems(["../etc/passwd", "a/b", "x_y", "<i>"])
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", n) for n in names.values())
    assert len({n.lower() for n in names.values()}) == 4


@pytest.mark.parametrize(
    ("status", "words"),
    [("not_assessable", "Not assessable:"), ("vus_only", "Uncertain:"), ("", "Not tested:")],
)
def test_every_status_has_its_own_heading(demo: Path, status: str, words: str):
    """Statuses the demo has no patient for still render, headed in plain words (the
    cohort of every status is in test_one_truth)."""
    record = replace(records_from_results(demo)[0], status=status, reason="a reason")
    page = render_patient(record)
    assert re.search(f"<h2 class='other'>{words}", page), page[:3000]


def test_a_page_flags_confirmation_exactly_where_the_table_does(demo: Path, statuses):
    """tables/patients.tsv's confirm and the page's 'to be confirmed' are one finding: P09's
    12% in blood needs no confirming although its 5% in buccal cells would."""
    table = {r["patient_id"]: r for r in rows(demo / "tables" / "patients.tsv")}
    flagged = set()
    for patient, status in statuses.items():
        if not status.startswith("positive"):
            continue
        page = (demo / "patients" / f"{patient}.html").read_text()
        heading = re.search(r"<h2[^>]*>(.*?)</h2>", page, re.S).group(1)
        assert ("to be confirmed" in heading) == bool(table[patient]["confirm"]), patient
        flagged |= {patient} if table[patient]["confirm"] else set()
    assert flagged and "P09" not in flagged
