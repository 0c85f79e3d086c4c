"""One truth across the four views of a patient's finding: the patient page, the
Phenopacket, the VCF's NLRP3_STATUS and tables/patients.tsv, on a cohort whose patients
cover every status (germline het and hom, phased R260W, mosaic from a caller's VCF and
from the scan of reads, VUS, negative with a scan limit and from a caller's VCF, not
assessable by depth and with no record over NLRP3, never genotyped, a positive at low
depth, and the caller's 0/0 with 3 of 907 ALT reads that must never be a positive).

Expected values come from the inputs and from reference/ read here with csv (ClinVar's
VariationID, rs and class; the MONDO code of the sheet's diagnosis), never from our output.
Hostile patient IDs ride along: nothing may be written outside the results folder, no
sub-folder made, no markup reach a page.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pysam
import pytest
from vcf_writer import write

from nlrp3annot.cli import main

ROOT = Path(__file__).resolve().parents[1]
FASTA = ROOT / "tests" / "data" / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
READS = ROOT / "nlrp3annot" / "demo" / "reads"
P_LP = "Pathogenic/Likely pathogenic"


def _reference_rows(name: str) -> list[dict[str, str]]:
    lines = [x for x in (ROOT / "reference" / name).read_text().splitlines() if x[:1] != "#"]
    return list(csv.DictReader(lines, delimiter="\t"))


CLINVAR = _reference_rows("clinvar_NLRP3.tsv")
MONDO = {r["key"]: r["id"] for r in _reference_rows("registry_codes.tsv") if r["kind"] == "disease"}


def clinvar(hgvs_c: str) -> dict[str, str]:
    return next(r for r in CLINVAR if r["hgvs_c"] == hgvs_c)


def vcf_pos(hgvs_c: str) -> tuple[int, str, str]:
    """A ClinVar SNV's VCF position and alleles on GRCh38 (its SPDI is 0-based)."""
    r = clinvar(hgvs_c)
    return int(r["spdi_pos"]) + 1, r["deleted"], r["inserted"]


T348M, D303N, A439V, G569R = "c.1043C>T", "c.907G>A", "c.1316C>T", "c.1705G>A"
R260_778, R260_780 = vcf_pos("c.778C>T"), (vcf_pos("c.778C>T")[0] + 2, "A", "G")
VUS = next(
    r for r in CLINVAR
    if r["significance"] == "VUS" and len(r["deleted"]) == len(r["inserted"]) == 1
    and r["hgvs_p"] and "Ter" not in r["hgvs_p"] and "=" not in r["hgvs_p"]
)  # fmt: skip


def snv(hgvs_c: str, calls: dict) -> dict:
    pos, ref, alt = vcf_pos(hgvs_c)
    return {"pos": pos, "ref": ref, "alts": (alt,), "calls": calls}


def one(sample: str, gt, ad, phased: bool = False) -> dict:
    return {sample: {"GT": gt, "AD": ad, "DP": sum(ad), "phased": phased}}


# patient -> (sample, tissue, records of its VCF or None (reads / not genotyped), expected)
# expected: the status class a reader must see, from the rules the README states
COHORT = {
    "GERM-HET": ("GERM-HET-b", "blood", [snv(T348M, one("GERM-HET-b", (0, 1), (90, 88)))],
                 "positive"),
    "GERM-HOM": ("GERM-HOM-b", "blood", [snv(D303N, one("GERM-HOM-b", (1, 1), (0, 150)))],
                 "positive"),
    "PHASED-R260W": ("PHASED-R260W-b", "blood", [
        {"pos": R260_778[0], "ref": R260_778[1], "alts": (R260_778[2],),
         "calls": one("PHASED-R260W-b", (0, 1), (80, 82), phased=True)},
        {"pos": R260_780[0], "ref": "A", "alts": ("G",),
         "calls": one("PHASED-R260W-b", (1, 1), (0, 160), phased=True)},
    ], "positive"),
    "MOSAIC-VCF": ("MOSAIC-VCF-b", "blood", [snv(A439V, one("MOSAIC-VCF-b", (0, 1), (400, 60)))],
                   "positive"),
    "MOSAIC-SCAN": ("P16-amplicon", "blood", None, "positive"),
    "VUS-1": ("VUS-1-b", "blood", [{
        "pos": int(VUS["spdi_pos"]) + 1, "ref": VUS["deleted"], "alts": (VUS["inserted"],),
        "calls": one("VUS-1-b", (0, 1), (70, 66))}], "uncertain"),
    "NEG-SCAN": ("P17-amplicon", "blood", None, "negative"),
    "NEG-VCF": ("NEG-VCF-b", "blood", [
        {"pos": R260_780[0], "ref": "A", "alts": ("G",), "calls": one("NEG-VCF-b", (1, 1),
                                                                     (0, 120))},
        snv(T348M, one("NEG-VCF-b", (0, 0), (140, 0))),
    ], "negative"),
    # negative, but only in buccal cells: a myeloid mosaic is not excluded (issue 26)
    "BUCCAL-ONLY-NEG": ("BUCCAL-b", "buccal", [snv(T348M, one("BUCCAL-b", (0, 0), (140, 0)))],
                        "not assessable"),
    "LOW-DEPTH-REF": ("LOW-DEPTH-REF-b", "blood", [snv(T348M, one("LOW-DEPTH-REF-b", (0, 0),
                                                                   (8, 0)))], "not assessable"),
    "NO-LOCUS": ("NO-LOCUS-b", "blood", [{"pos": 247_300_000, "ref": "N", "alts": ("A",),
                                          "calls": one("NO-LOCUS-b", (0, 1), (10, 10))}],
                 "not assessable"),
    "NEVER": ("NEVER-b", "blood", None, "not tested"),
    "LOW-DEPTH-HET": ("LOW-DEPTH-HET-b", "blood", [snv(T348M, one("LOW-DEPTH-HET-b", (0, 1),
                                                                   (6, 6)))], "positive"),
    "NOISE-3-OF-907": ("NOISE-b", "blood", [snv(G569R, one("NOISE-b", (0, 0), (904, 3)))],
                       "not positive"),
    "../../../outside/pwned": ("PWN-b", "blood", [snv(T348M, one("PWN-b", (0, 1), (60, 60)))],
                               "positive"),
    "MRN/2024/0042": ("MRN-b", "blood", [snv(D303N, one("MRN-b", (0, 1), (70, 72)))],
                      "positive"),
    "<b>HTML</b>": ("HTML-b", "blood", [snv(D303N, one("HTML-b", (0, 1), (70, 72)))],
                    "positive"),
}  # fmt: skip
# person-identifying sheet values (name, MRN, date of birth, specimen ID), made unmistakable
PERSON = ("Zelda Quorrington ", "MRN77", "1999-12-", "SPEC-9")
HEADINGS = {  # the status class -> how the page's result heading starts
    "positive": "Positive:",
    "negative": "Negative:",
    "uncertain": "Uncertain:",
    "not assessable": "Not assessable:",
    "not tested": "Not tested:",
}
STATUS_CLASS = {
    "positive_germline": "positive",
    "positive_mosaic": "positive",
    "negative": "negative",
    "vus_only": "uncertain",
    "not_assessable": "not assessable",
    "": "not tested",
}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[tuple[str, str]] = []  # (enclosing tag, text)
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        if self.tags:
            self.tags.pop()

    def handle_data(self, data):
        self.parts.append((self.tags[-1] if self.tags else "", data))


def page_text(path: Path) -> tuple[str, str]:
    """(the result heading, all the text) of a page."""
    parser = _Text()
    parser.feed(path.read_text())
    heading = " ".join(t for tag, t in parser.parts if tag == "h2")
    return heading.strip(), re.sub(r"\s+", " ", " ".join(t for _, t in parser.parts))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("truth")
    work = base / "work"
    work.mkdir()
    inputs: list[str] = []
    sheet = [
        "patient_id,sample_id,tissue,diagnosis,treatment,dose,patient_name,MRN,date of birth,"
        "sex,indication,ordering clinician,specimen_id,collection_date,receipt_date"
    ]
    clinical = ["patient_id,visit,day,measure,value,unit"]
    for n, (patient, (sample, tissue, records, _)) in enumerate(COHORT.items()):
        diagnosis = "Muckle-Wells" if patient == "GERM-HET" else "NOMID"
        sheet.append(
            f'"{patient}",{sample},{tissue},{diagnosis},anakinra,1 mg/kg/day,'
            f"{PERSON[0]}{n:02d},{PERSON[1]}{n:04d},{PERSON[2]}{n + 1:02d},female,"
            f"recurrent fever and urticarial rash,Dr Q. Example,{PERSON[3]}{n:04d},"
            f"2026-10-{n + 1:02d},2026-10-{n + 2:02d}"
        )
        for visit, day, value in (("baseline", 0, 150 + n), ("month3", 90, 10 + n)):
            clinical.append(f'"{patient}",{visit},{day},SAA,{value},mg/L')
        if records is not None:
            path = write(work / f"v{n}.vcf.gz", [sample], records)
            pysam.tabix_index(str(path), preset="vcf", force=True)
            inputs.append(str(path))
        elif sample.endswith("-amplicon"):
            inputs.append(str(READS / f"{sample}.cram"))
    (work / "samples.csv").write_text("\n".join(sheet) + "\n")
    (work / "clinical.csv").write_text("\n".join(clinical) + "\n")
    out = base / "nested" / "results"
    code = main(["run", *inputs, "--fasta", str(FASTA), "--clinical", str(work / "clinical.csv"),
                 "--samples", str(work / "samples.csv"), "-o", str(out), "-q",
                 "--lab", str(ROOT / "reference" / "lab_profile.example.toml")])  # fmt: skip
    assert code == 0
    annotated = {}
    for path in inputs:
        if path.endswith(".vcf.gz"):
            target = work / Path(path).name.replace(".vcf.gz", ".out.vcf.gz")
            assert main(["annotate", path, "--fasta", str(FASTA), "-o", str(target), "-q"]) == 0
            annotated[path] = target
    return {"out": out, "base": base, "annotated": annotated}


def test_every_expected_status_is_what_the_tables_say(cohort) -> None:
    table = {r["patient_id"]: r for r in rows(cohort["out"] / "tables" / "patients.tsv")}
    assert set(table) == set(COHORT)  # every patient of the sheet is in the table
    for patient, (_, _, _, expected) in COHORT.items():
        got = STATUS_CLASS[table[patient]["status"]]
        if expected == "not positive":
            assert got != "positive", (patient, table[patient])
        else:
            assert got == expected, (patient, table[patient])


def test_page_packet_vcf_and_table_agree_for_every_patient(cohort) -> None:
    out = cohort["out"]
    table = {r["patient_id"]: r for r in rows(out / "tables" / "patients.tsv")}
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    by_sample = {r["sample"]: r for r in rows(out / "annotation" / "patients.tsv")}
    for patient, (sample, _, records, _) in COHORT.items():
        status = table[patient]["status"]
        heading, _ = page_text(out / "patients" / files[patient]["page"])
        assert heading.startswith(HEADINGS[STATUS_CLASS[status]]), (patient, status, heading)
        confirm = table[patient]["confirm"]  # the table's reason to confirm, the page's flag
        if STATUS_CLASS[status] == "positive":
            assert ("to be confirmed" in heading) == bool(confirm), (patient, confirm, heading)
        packet_path = out / "phenopackets" / files[patient]["phenopacket"]
        if packet_path.is_file():
            packet = json.loads(packet_path.read_text())
            interpretation = packet["interpretations"][0]
            progress = interpretation.get("progressStatus", "UNKNOWN_PROGRESS")  # (0: omitted)
            if STATUS_CLASS[status] == "positive":
                wanted = "IN_PROGRESS" if confirm else "SOLVED"
                assert progress == wanted, (patient, progress, confirm)
            else:
                assert progress != "SOLVED", (patient, progress)
            statuses = [
                g.get("interpretationStatus", "UNKNOWN_STATUS")
                for g in interpretation.get("diagnosis", {}).get("genomicInterpretations", [])
            ]
            assert ("CAUSATIVE" in statuses) == (STATUS_CLASS[status] == "positive"), patient
        if records is not None and by_sample.get(sample):
            vcf = cohort["annotated"][str(_input_of(cohort, sample))]
            with pysam.VariantFile(str(vcf)) as handle:
                # records outside the locus pass through unannotated (no CSQ, no fields)
                annotated = [rec for rec in handle if "CSQ" in rec.info]
                seen = {rec.samples[sample]["NLRP3_STATUS"] for rec in annotated}
            # (a VCF with no record in the locus has no record to carry the fields)
            assert seen in ({by_sample[sample]["status"]}, set()), (patient, seen)
            if patient == "BUCCAL-ONLY-NEG":  # the sample is negative, the patient is not
                assert by_sample[sample]["status"] == "negative"
                assert "only, no blood or myeloid sample" in table[patient]["note"]
            else:
                assert by_sample[sample]["status"] == status  # one sample: the patient's own


def _input_of(cohort, sample: str) -> Path:
    for path in cohort["annotated"]:
        with pysam.VariantFile(path) as handle:
            if sample in handle.header.samples:
                return Path(path)
    raise AssertionError(sample)


def test_pages_cite_clinvar_as_the_reference_table_has_it(cohort) -> None:
    """R260W as VariationID 4374 / rs121908150 with the c.780 context; every deciding
    change's class verbatim, never P/LP written as Pathogenic in a packet."""
    out = cohort["out"]
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    _, text = page_text(out / "patients" / files["PHASED-R260W"]["page"])
    r260 = clinvar("c.778C>T")
    assert f"VariationID {r260['variation_id']}" in text and r260["dbsnp"] in text
    assert "VariationID 1701129" not in text
    assert "c.780G" in text and "p.Arg260Trp" in text
    for patient in ("GERM-HET", "GERM-HOM", "MOSAIC-VCF"):
        _, text = page_text(out / "patients" / files[patient]["page"])
        assert P_LP in text
        packet = json.loads((out / "phenopackets" / files[patient]["phenopacket"]).read_text())
        blob = json.dumps(packet)
        assert '"PATHOGENIC"' not in blob  # P/LP is likely pathogenic at most
        assert "LIKELY_PATHOGENIC" in blob


def test_the_disease_is_the_patient_s_not_the_variant_s(cohort) -> None:
    out = cohort["out"]
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    for patient, wanted in (("GERM-HET", "MWS"), ("PHASED-R260W", "NOMID")):
        packet = json.loads((out / "phenopackets" / files[patient]["phenopacket"]).read_text())
        assert [d["term"]["id"] for d in packet.get("diseases", [])] == [MONDO[wanted]], patient


def test_no_positive_from_three_reads_in_907(cohort) -> None:
    out = cohort["out"]
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    heading, text = page_text(out / "patients" / files["NOISE-3-OF-907"]["page"])
    assert not heading.startswith("Positive")
    assert "Positive" not in heading and "mosaic" not in heading.lower()


def test_no_data_pages_claim_nothing_was_found(cohort) -> None:
    out = cohort["out"]
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    for patient in ("NO-LOCUS", "NEVER"):
        _, text = page_text(out / "patients" / files[patient]["page"])
        assert "No pathogenic" not in text, patient
        assert "reported, not in the two-group comparison" not in text
    _, text = page_text(out / "patients" / files["NO-LOCUS"]["page"])
    assert "no call in the NLRP3 locus" in text


def test_hostile_patient_ids_stay_inside_and_inert(cohort) -> None:
    base, out = cohort["base"], cohort["out"]
    assert not (base / "outside").exists() and not (base / "nested" / "outside").exists()
    for folder in ("patients", "phenopackets"):
        assert all(p.is_file() for p in (out / folder).iterdir()), folder  # no sub-folder
        for p in (out / folder).iterdir():
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", p.name), p.name
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    page = (out / "patients" / files["<b>HTML</b>"]["page"]).read_text()
    assert "<b>HTML</b>" not in page and "&lt;b&gt;HTML&lt;/b&gt;" in page
    assert files["MRN/2024/0042"]["page"] == "MRN_2024_0042.html"


def test_two_ids_that_would_share_a_file_name_are_refused(tmp_path: Path, capsys) -> None:
    """MRN/2024/0042 and MRN_2024_0042 cannot both be MRN_2024_0042.html: one line, exit 2,
    nothing delivered."""
    sample_a, sample_b = "A-b", "B-b"
    inputs = []
    for name, sample in (("a", sample_a), ("b", sample_b)):
        path = write(tmp_path / f"{name}.vcf.gz", [sample],
                     [snv(T348M, one(sample, (0, 1), (50, 50)))])  # fmt: skip
        inputs.append(str(path))
    (tmp_path / "s.csv").write_text(
        f"patient_id,sample_id\nMRN/2024/0042,{sample_a}\nMRN_2024_0042,{sample_b}\n"
    )
    (tmp_path / "c.csv").write_text(
        "patient_id,visit,day,measure,value\nMRN/2024/0042,baseline,0,SAA,100\n"
        "MRN_2024_0042,baseline,0,SAA,90\n"
    )
    capsys.readouterr()
    code = main(["run", *inputs, "--fasta", str(FASTA), "--clinical", str(tmp_path / "c.csv"),
                 "--samples", str(tmp_path / "s.csv"), "-o", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "MRN_2024_0042" in err[0] and "rename" in err[0]
    assert not (tmp_path / "r" / "patients").exists()


def test_redacted_run_names_no_patient_in_any_file(cohort, tmp_path: Path) -> None:
    """With --redact, no file of the results folder holds an original patient or sample ID
    (every file read: text, JSON, gzip'd VCFs), nor a file name."""
    out = cohort["out"]
    work = cohort["base"] / "work"
    inputs = [str(p) for p in sorted(work.glob("v*.vcf.gz")) if ".out." not in p.name]
    inputs += [str(READS / "P16-amplicon.cram"), str(READS / "P17-amplicon.cram")]
    redacted = tmp_path / "redacted"
    salt = tmp_path / "salt"
    code = main(["run", *inputs, "--fasta", str(FASTA), "--clinical", str(work / "clinical.csv"),
                 "--samples", str(work / "samples.csv"), "-o", str(redacted), "-q",
                 "--redact", str(salt)])  # fmt: skip
    assert code == 0 and out.is_dir()
    ids = [p for p in COHORT if len(p) > 5] + [s for s, *_ in COHORT.values() if len(s) > 5]
    ids += [PERSON[0], f"{PERSON[1]}0", f"{PERSON[2]}0", f"{PERSON[3]}0"]
    for path in redacted.rglob("*"):
        for word in ids:
            assert word not in path.name, (path, word)
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            with contextlib.suppress(OSError, EOFError):
                data = gzip.decompress(data)
        text = data.decode("utf-8", errors="replace")
        for word in ids:
            assert word not in text, (path, word)


class _ById(HTMLParser):
    """The text of every element that has an id."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "col", "meta"):
            return
        element = dict(attrs).get("id")
        self.open.append((tag, element))
        if element:
            self.text.setdefault(element, "")

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, element in self.open:
            if element:
                self.text[element] += data


def test_every_checklist_element_is_on_the_page(cohort) -> None:
    """The README's reviewer's checklist, row by row: each element is on the page of a
    germline positive built with the example lab profile and a sheet with every column,
    and says something (not 'not given')."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### A reviewer's checklist", 1)[1].split("\n\n", 3)[2]
    elements = [
        re.findall(r"`([^`]+)`", line.rsplit("|", 2)[-2])[0]
        for line in table.splitlines()[2:]
        if line.startswith("|")
    ]
    assert len(elements) >= 30
    out = cohort["out"]
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    parser = _ById()
    parser.feed((out / "patients" / files["GERM-HET"]["page"]).read_text())
    for element in elements:
        assert element in parser.text, element
        shown = " ".join(parser.text[element].split())
        assert shown and "not given" not in shown, (element, shown)
    assert clinvar(T348M)["dbsnp"] in parser.text["v1-clinvar"]  # T348M's rs, as reference/
    assert "autosomal dominant" in parser.text["interpretation"]
    assert "cascade testing" in parser.text["recommendations"]


def test_the_cohort_report_of_a_run_on_the_test_sequence_says_so(cohort) -> None:
    """Not only the demo: any run whose FASTA is the test sequence (its header says so)
    labels report.html as well as every page."""
    with gzip.open(FASTA, "rt") as handle:
        header = handle.readline()
    assert "NOT THE REAL GENOME" in header
    out = cohort["out"]
    report = (out / "report.html").read_text()
    assert "TEST GENOME" in report and "not the human genome" in report
    for page in (out / "patients").glob("*.html"):
        assert "RESEARCH USE ONLY" in page.read_text(), page.name


def test_every_packet_parses_and_keeps_the_schema_s_rules(cohort) -> None:
    """Each packet of the cohort through the phenopackets classes (unknown fields refused)
    and the stricter v2 check of test_phenopackets (ids resolve, required fields, a
    Resource for every CURIE prefix)."""
    import phenopackets as pp
    from google.protobuf.json_format import Parse
    from test_phenopackets import schema_problems

    packets = sorted((cohort["out"] / "phenopackets").glob("*.phenopacket.json"))
    assert len(packets) == len(COHORT)  # every patient here has a diagnosis
    for path in packets:
        text = path.read_text()
        Parse(text, pp.Phenopacket(), ignore_unknown_fields=False)
        assert schema_problems(json.loads(text)) == [], path.name


def test_report_makes_the_run_s_pages_again(cohort, tmp_path: Path) -> None:
    """`report` on the results folder with the same lab profile gives run's pages, packets
    and index byte for byte (a page is a function of the results and the profile)."""
    out = cohort["out"]
    lab = ROOT / "reference" / "lab_profile.example.toml"
    pages, packets = tmp_path / "pages", tmp_path / "packets"
    assert main(["report", str(out), "-o", str(pages), "--phenopackets", str(packets),
                 "--lab", str(lab), "-q"]) == 0  # fmt: skip
    for made in pages.iterdir():
        assert made.read_bytes() == (out / "patients" / made.name).read_bytes(), made.name
    for made in packets.iterdir():
        assert made.read_bytes() == (out / "phenopackets" / made.name).read_bytes(), made.name
    assert len(list(pages.iterdir())) == len(COHORT) + 1  # and index.tsv


def test_a_buccal_only_negative_is_not_assessable_in_every_view(cohort) -> None:
    """Negative in buccal cells only: the rule's reason (NOMID mosaicism is often highest in
    myeloid cells) says it excludes nothing, so the table, the inclusion table, the page and
    the packet all say not assessable, and why; the page asks for blood."""
    out = cohort["out"]
    patient = "BUCCAL-ONLY-NEG"
    table = {r["patient_id"]: r for r in rows(out / "tables" / "patients.tsv")}[patient]
    assert (table["status"], table["group"]) == ("not_assessable", "not_assessable")
    assert table["in_comparison"] == "False"
    assert "negative in buccal (BUCCAL-b) only" in table["note"]
    inclusion = [r for r in rows(out / "tables" / "inclusion.tsv") if r["patient_id"] == patient]
    assert inclusion and all(r["included"] == "False" for r in inclusion)
    for row in inclusion:
        assert "negative in buccal (BUCCAL-b) only" in row["reason"], row
        assert "myeloid" in row["reason"], row
    files = {r["patient_id"]: r for r in rows(out / "patients" / "index.tsv")}
    heading, text = page_text(out / "patients" / files[patient]["page"])
    assert heading.startswith("Not assessable:"), heading
    assert "negative in buccal (BUCCAL-b) only" in text
    assert "Test DNA from blood or myeloid cells" in text
    packet = json.loads((out / "phenopackets" / files[patient]["phenopacket"]).read_text())
    interpretation = packet["interpretations"][0]
    assert interpretation.get("progressStatus") != "SOLVED"
