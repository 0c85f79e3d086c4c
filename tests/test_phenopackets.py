"""GA4GH Phenopackets of the demo's patients, parsed back with the schema's own protobuf classes
(the ``phenopackets`` package: unknown fields are refused) and checked for the fields the
schema requires. Expected values come from elsewhere: the demo's input VCFs (pysam), its
samples sheet and response spreadsheet (pandas), ClinVar's name of R260W on the common
haplotype (VariationID 1701129, NP_001230062.1:p.Arg260Trp), and NCBI ClinVar's MONDO codes
of the CAPS conditions (variant_summary PhenotypeIDS)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pysam
import pytest

import nlrp3annot
from nlrp3annot.cli import main

pp = pytest.importorskip("phenopackets")
from google.protobuf.json_format import Parse  # noqa: E402  (after the importorskip)

DEMO = Path(nlrp3annot.__file__).parent / "demo"
NCBI_MONDO = {  # ClinVar variant_summary PhenotypeIDS => PhenotypeList
    "familial cold urticaria": "MONDO:0007349",
    "Muckle-Wells (familial amyloid nephropathy with urticaria and deafness)": "MONDO:0008633",
    "CINCA": "MONDO:0011776",
    "CAPS": "MONDO:0016168",
}
R260_POS = 247_424_227


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pheno")
    out, drop = root / "results", root / "registry"
    assert main(["demo", "-o", str(out), "-q", "--phenopackets", str(drop)]) == 0
    return out, drop


def _packets(folder: Path) -> dict[str, dict]:
    return {
        p.name.split(".")[0]: json.loads(p.read_text())
        for p in sorted(folder.glob("*.phenopacket.json"))
    }


def _ontology_classes(node, path=""):
    """Every OntologyClass (a dict of exactly id and label) in a packet."""
    if isinstance(node, dict):
        if set(node) == {"id", "label"}:
            yield path, node
        for key, value in node.items():
            yield from _ontology_classes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _ontology_classes(item, f"{path}[{i}]")


def test_every_patient_has_a_packet_that_the_schema_classes_parse(demo) -> None:
    out, drop = demo
    sheet = pd.read_csv(DEMO / "samples.csv")
    packets = _packets(out / "phenopackets")
    assert set(packets) == set(sheet["patient_id"])
    for pid, packet in packets.items():
        text = (out / "phenopackets" / f"{pid}.phenopacket.json").read_text()
        assert (drop / f"{pid}.phenopacket.json").read_text() == text
        message = Parse(text, pp.Phenopacket())  # refuses unknown fields and bad types
        assert message.id and message.subject.id == pid
        meta = message.meta_data
        assert meta.created.seconds > 0 and meta.created_by.startswith("nlrp3annot")
        assert meta.phenopacket_schema_version.startswith("2.")
        prefixes = {r.namespace_prefix for r in meta.resources}
        for resource in meta.resources:
            assert all([resource.id, resource.name, resource.url, resource.version,
                        resource.namespace_prefix, resource.iri_prefix])  # fmt: skip
        for where, term in _ontology_classes(packet):
            assert term["id"].split(":")[0] in prefixes, (pid, where, term)
        for measured in message.measurements:
            assert measured.assay.id and measured.HasField("value")
        for action in message.medical_actions:
            assert action.treatment.agent.id


def test_r260w_is_named_on_the_patient_s_haplotype(demo) -> None:
    out, _ = demo
    packet = _packets(out / "phenopackets")["P01"]
    (interpretation,) = packet["interpretations"]
    assert interpretation["progressStatus"] == "SOLVED"
    genomic = interpretation["diagnosis"]["genomicInterpretations"]
    descriptor = genomic[0]["variantInterpretation"]["variationDescriptor"]
    expressions = {e["syntax"]: e["value"] for e in descriptor["expressions"]}
    assert expressions["hgvs.p"] == "NP_001230062.1:p.Arg260Trp"  # ClinVar 1701129's name
    assert descriptor["label"] == "R260W"
    with pysam.VariantFile(str(DEMO / "vcf" / "P01-blood.vcf.gz")) as vin:
        record = next(r for r in vin if r.pos == R260_POS)
        gt = record.samples[0]["GT"]
    assert descriptor["vcfRecord"]["pos"] == str(R260_POS)
    assert descriptor["vcfRecord"]["ref"] == record.ref
    assert sorted(gt) == [0, 1]  # one copy: heterozygous
    assert descriptor["allelicState"]["id"] == "GENO:0000135"
    diseases = {d["term"]["id"] for d in packet["diseases"]}
    assert NCBI_MONDO["familial cold urticaria"] in diseases  # R260W: FCAS and MWS reported


def test_a_mosaic_carries_its_fraction_interval_and_tissue(demo) -> None:
    out, _ = demo
    sheet = pd.read_csv(DEMO / "samples.csv")
    packet = _packets(out / "phenopackets")["P09"]
    genomic = packet["interpretations"][0]["diagnosis"]["genomicInterpretations"]
    assert {g["subjectOrBiosampleId"] for g in genomic} == set(
        sheet.loc[sheet["patient_id"] == "P09", "sample_id"]
    )
    for item in genomic:
        sample = item["subjectOrBiosampleId"]
        tissue = sheet.loc[sheet["sample_id"] == sample, "tissue"].item()
        descriptor = item["variantInterpretation"]["variationDescriptor"]
        (extension,) = descriptor["extensions"]
        assert extension["name"] == "mosaic_allele_fraction"
        with pysam.VariantFile(str(DEMO / "vcf" / f"{sample}.vcf.gz")) as vin:
            pos = int(descriptor["vcfRecord"]["pos"])
            ad = next(r for r in vin if r.pos == pos).samples[0]["AD"]
        fraction, _, rest = extension["value"].partition(" (95% CI ")
        assert float(fraction) == pytest.approx(ad[1] / sum(ad), abs=1e-3)
        low, _, high = rest.split(")")[0].partition(" to ")
        assert float(low) < float(fraction) < float(high)
        assert extension["value"].endswith(f"in {tissue}")


def test_treatment_and_markers_come_from_the_sheets(demo) -> None:
    out, _ = demo
    sheet = pd.read_csv(DEMO / "samples.csv")
    response = pd.read_excel(DEMO / "response.xlsx")
    packet = _packets(out / "phenopackets")["P02"]
    (action,) = packet["medicalActions"]
    assert action["treatment"]["agent"]["id"] == "DrugBank:DB00026"  # anakinra
    dose_text = sheet.loc[sheet["patient_id"] == "P02", "dose"].iloc[0]
    low, high = (float(x) for x in dose_text.split()[0].split("-"))
    quantity = action["treatment"]["doseIntervals"][0]["quantity"]
    assert quantity["value"] == low
    assert (quantity["referenceRange"]["low"], quantity["referenceRange"]["high"]) == (low, high)
    rows = response[response["Patient ID"] == "P02"]
    crp = [m for m in packet["measurements"] if m["assay"]["id"] == "LOINC:1988-5"]
    saa = [m for m in packet["measurements"] if m["assay"]["id"] == "LOINC:48498-0"]
    assert len(crp) == len(rows) == len(saa)
    for (_, row), c, s in zip(rows.sort_values("Study day").iterrows(), crp, saa, strict=True):
        assert c["value"]["quantity"]["value"] == pytest.approx(row["CRP (mg/dL)"] * 10)
        assert c["value"]["quantity"]["unit"]["id"] == "UCUM:mg/L"
        assert c["description"].startswith(f"study day {row['Study day']:g} ")
        assert s["value"]["quantity"]["value"] == pytest.approx(float(row["SAA (mg/L)"]))


def test_a_negative_patient_is_unsolved_with_no_variant(demo) -> None:
    out, _ = demo
    statuses = pd.read_csv(out / "tables" / "patients.tsv", sep="\t")
    negative = statuses.loc[statuses["status"] == "negative", "patient_id"].iloc[0]
    packet = _packets(out / "phenopackets")[negative]
    (interpretation,) = packet["interpretations"]
    assert interpretation["progressStatus"] == "UNSOLVED"
    assert "genomicInterpretations" not in interpretation["diagnosis"]
    assert [d["term"]["id"] for d in packet["diseases"]] == [NCBI_MONDO["CAPS"]]


def test_the_sheet_s_diagnosis_decides_the_disease(demo) -> None:
    from nlrp3annot.delivery import records_from_results
    from nlrp3annot.delivery.phenopackets import load_codes, phenopacket

    out, _ = demo
    record = next(r for r in records_from_results(out) if r.patient_id == "P01")
    packet = phenopacket(dataclasses.replace(record, diagnosis="CINCA"), load_codes())
    assert [d.term.id for d in packet.diseases] == [NCBI_MONDO["CINCA"]]


def test_report_writes_the_same_packet_again(demo, tmp_path: Path) -> None:
    """Apart from ``created`` (when the run finished; a run writes its packets just before),
    and byte for byte under SOURCE_DATE_EPOCH."""
    out, _ = demo
    for name, epoch in (("a", None), ("b", "1700000000"), ("c", "1700000000")):
        env = {"SOURCE_DATE_EPOCH": epoch} if epoch else {}
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            assert main(["report", str(out), "P01", "-o", str(tmp_path / name),
                         "--phenopackets", str(tmp_path / name), "-q"]) == 0  # fmt: skip
    packets = {n: json.loads((tmp_path / n / "P01.phenopacket.json").read_text()) for n in "abc"}
    first = json.loads((out / "phenopackets" / "P01.phenopacket.json").read_text())
    for packet in (first, *packets.values()):
        packet["metaData"].pop("created")
    assert packets["a"] == first == packets["b"]
    texts = [(tmp_path / n / "P01.phenopacket.json").read_text() for n in "bc"]
    assert texts[0] == texts[1] and '"created": "2023-11-14T22:13:20Z"' in texts[0]


def test_a_diagnosis_column_of_the_samples_sheet_reaches_the_packet(tmp_path: Path) -> None:
    """`run` with a samples sheet that says P01 has NOMID (its R260W is reported with FCAS
    and MWS): the sheet's word decides; a patient without one keeps the reported ones."""
    sheet = pd.read_csv(DEMO / "samples.csv")
    sheet["Clinical diagnosis"] = ["NOMID" if p == "P01" else "" for p in sheet["patient_id"]]
    samples = tmp_path / "samples.csv"
    sheet.to_csv(samples, index=False)
    vcfs = [str(p) for p in sorted((DEMO / "vcf").glob("*.vcf.gz"))]
    out = tmp_path / "results"
    fasta = DEMO / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
    assert main(["run", *vcfs, "--fasta", str(fasta), "--clinical", str(DEMO / "response.xlsx"),
                 "--samples", str(samples), "-o", str(out), "-q"]) == 0  # fmt: skip
    packets = _packets(out / "phenopackets")
    assert [d["term"]["id"] for d in packets["P01"]["diseases"]] == [NCBI_MONDO["CINCA"]]
    assert NCBI_MONDO["familial cold urticaria"] in {
        d["term"]["id"] for d in packets["P02"]["diseases"]
    }  # P02 also carries R260W, and its sheet row gives no diagnosis
