"""GA4GH Phenopackets of the demo's patients and of a small cohort run here, parsed back with
the schema's own protobuf classes (the ``phenopackets`` package: unknown fields are refused)
and walked by :func:`schema_problems`, which checks the v2 rules the classes do not: required
fields of each message used (phenopacket-schema docs), ids that resolve, a Resource for every
CURIE prefix. Expected values come from elsewhere: the input VCFs (pysam), the TEST FASTA,
the samples sheet and response spreadsheet (pandas), ClinVar's records (reference/
clinvar_NLRP3.tsv: 4374 rs121908150 for R260W's c.778C>T), NCBI ClinVar's MONDO codes of the
CAPS conditions (variant_summary PhenotypeIDS), GENO (geno.obo 2023-10-08) and HGVS's rule
that two changes one base apart are one delins (ClinVar's c.778_780delinsTGG)."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import pandas as pd
import pysam
import pytest

import nlrp3annot
from nlrp3annot.cli import main

pp = pytest.importorskip("phenopackets")
from google.protobuf.json_format import Parse  # noqa: E402  (after the importorskip)

DEMO = Path(nlrp3annot.__file__).parent / "demo"
FASTA = DEMO / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
CLINVAR = Path(__file__).resolve().parents[1] / "reference" / "clinvar_NLRP3.tsv"
NCBI_MONDO = {  # ClinVar variant_summary PhenotypeIDS => PhenotypeList
    "familial cold urticaria": "MONDO:0007349",
    "Muckle-Wells (familial amyloid nephropathy with urticaria and deafness)": "MONDO:0008633",
    "CINCA": "MONDO:0011776",
    "CAPS": "MONDO:0016168",
}
GENO = {"heterozygous": "GENO:0000135", "homozygous": "GENO:0000136", "mosaic": "GENO:0000964"}
R260_POS = 247_424_227
D303N = (247_424_356, "G", "A")  # c.907G>A, ClinVar 4377
T348M = (247_424_492, "C", "T")  # c.1043C>T, ClinVar 97909
R5C = (247_418_813, "C", "T")  # c.13C>T, ClinVar 1305073: VUS


# -- the schema's rules, from the phenopacket-schema v2 docs (REQUIRED fields) -------------

_REQUIRED = {  # message -> JSON fields it must have
    "Phenopacket": ("id", "metaData"),
    "Individual": ("id",),
    "Biosample": ("id",),
    "Interpretation": ("id", "progressStatus"),
    "Diagnosis": ("disease",),
    "GenomicInterpretation": ("subjectOrBiosampleId", "interpretationStatus"),
    "VariantInterpretation": ("variationDescriptor",),
    "VariationDescriptor": ("id",),
    "VcfRecord": ("genomeAssembly", "chrom", "pos", "ref", "alt"),
    "OntologyClass": ("id", "label"),
    "Disease": ("term",),
    "MedicalAction": ("treatment",),
    "Treatment": ("agent",),
    "DoseInterval": ("quantity", "scheduleFrequency", "interval"),
    "TimeInterval": ("start", "end"),
    "Measurement": ("assay", "value"),
    "Value": ("quantity",),
    "Quantity": ("unit", "value"),
    "ReferenceRange": ("unit", "low", "high"),
    "MetaData": ("created", "createdBy", "resources", "phenopacketSchemaVersion"),
    "Resource": ("id", "name", "url", "version", "namespacePrefix", "iriPrefix"),
}
_ONTOLOGY_FIELDS = {"sampledTissue", "disease", "term", "allelicState", "agent", "assay",
                    "unit", "scheduleFrequency", "taxonomy", "sampleType"}  # fmt: skip
_ENUMS = {"progressStatus", "interpretationStatus"}  # (UNKNOWN_PROGRESS, UNKNOWN_STATUS)
_CURIE = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*):[^/\s]\S*$")


def schema_problems(packet: dict) -> list[str]:
    """What breaks the Phenopacket v2 rules in a packet (JSON as written), [] when none."""
    problems: list[str] = []
    curies: list[tuple[str, str]] = []

    def need(kind: str, node: dict, where: str) -> None:
        for key in _REQUIRED[kind]:
            if key in _ENUMS and key not in node:
                continue  # proto3 JSON leaves out an enum at its 0 value, a legal value
            if key not in node or node[key] in ("", [], {}):
                problems.append(f"{where}: {kind} without its required {key}")

    def term(node: dict, where: str) -> None:
        need("OntologyClass", node, where)
        curies.append((where, str(node.get("id", ""))))

    need("Phenopacket", packet, "packet")
    subject = packet.get("subject", {})
    need("Individual", subject, "subject")
    samples = packet.get("biosamples", [])
    for i, sample in enumerate(samples):
        need("Biosample", sample, f"biosamples[{i}]")
        if sample.get("individualId", subject.get("id")) != subject.get("id"):
            problems.append(f"biosamples[{i}]: individualId is not the subject")
        if "sampledTissue" in sample:
            term(sample["sampledTissue"], f"biosamples[{i}].sampledTissue")
    targets = {subject.get("id")} | {s.get("id") for s in samples}
    if len({s.get("id") for s in samples}) != len(samples):
        problems.append("biosample ids are not unique")
    for i, disease in enumerate(packet.get("diseases", [])):
        need("Disease", disease, f"diseases[{i}]")
        term(disease.get("term", {}), f"diseases[{i}].term")
    for i, interp in enumerate(packet.get("interpretations", [])):
        where = f"interpretations[{i}]"
        need("Interpretation", interp, where)
        if "diagnosis" not in interp:
            continue
        need("Diagnosis", interp["diagnosis"], f"{where}.diagnosis")
        term(interp["diagnosis"].get("disease", {}), f"{where}.diagnosis.disease")
        for j, gi in enumerate(interp["diagnosis"].get("genomicInterpretations", [])):
            at = f"{where}.genomicInterpretations[{j}]"
            need("GenomicInterpretation", gi, at)
            if gi.get("subjectOrBiosampleId") not in targets:
                problems.append(f"{at}: {gi.get('subjectOrBiosampleId')!r} names no biosample")
            if "variantInterpretation" not in gi and "gene" not in gi:
                problems.append(f"{at}: no call (variantInterpretation or gene)")
            vi = gi.get("variantInterpretation")
            if vi is None:
                continue
            need("VariantInterpretation", vi, at)
            vd = vi.get("variationDescriptor", {})
            need("VariationDescriptor", vd, f"{at}.variationDescriptor")
            if "vcfRecord" in vd:
                need("VcfRecord", vd["vcfRecord"], f"{at}.vcfRecord")
            if "allelicState" in vd:
                term(vd["allelicState"], f"{at}.allelicState")
            if "geneContext" in vd:
                curies.append((f"{at}.geneContext", vd["geneContext"].get("valueId", "")))
            curies += [(f"{at}.xrefs", x) for x in vd.get("xrefs", [])]
    for i, action in enumerate(packet.get("medicalActions", [])):
        need("MedicalAction", action, f"medicalActions[{i}]")
        treatment = action.get("treatment", {})
        need("Treatment", treatment, f"medicalActions[{i}].treatment")
        term(treatment.get("agent", {}), f"medicalActions[{i}].agent")
        for j, dose in enumerate(treatment.get("doseIntervals", [])):
            need("DoseInterval", dose, f"medicalActions[{i}].doseIntervals[{j}]")
            need("TimeInterval", dose.get("interval", {}), f"doseIntervals[{j}].interval")
    for i, measured in enumerate(packet.get("measurements", [])):
        where = f"measurements[{i}]"
        need("Measurement", measured, where)
        term(measured.get("assay", {}), f"{where}.assay")
        value = measured.get("value", {})
        need("Value", value, where)
        quantity = value.get("quantity", {})
        need("Quantity", quantity, f"{where}.quantity")
        term(quantity.get("unit", {}), f"{where}.unit")
        if "referenceRange" in quantity:
            need("ReferenceRange", quantity["referenceRange"], f"{where}.referenceRange")
    meta = packet.get("metaData", {})
    need("MetaData", meta, "metaData")
    for i, resource in enumerate(meta.get("resources", [])):
        need("Resource", resource, f"resources[{i}]")
        if resource.get("version", "").lower() in ("unspecified", "unknown", ""):
            problems.append(f"resources[{i}]: version {resource.get('version')!r}")
    declared = {r.get("namespacePrefix") for r in meta.get("resources", [])}
    for where, curie in curies:
        match = _CURIE.match(curie)
        if not match:
            problems.append(f"{where}: {curie!r} is not a CURIE")
        elif match.group(1) not in declared:
            problems.append(f"{where}: prefix of {curie!r} has no Resource")
    return problems


def _packets(folder: Path) -> dict[str, dict]:
    return {
        p.name.removesuffix(".phenopacket.json"): json.loads(p.read_text())
        for p in sorted(folder.glob("*.phenopacket.json"))
    }


def _genomic(packet: dict) -> list[dict]:
    return [
        g
        for i in packet.get("interpretations", [])
        for g in i.get("diagnosis", {}).get("genomicInterpretations", [])
    ]


def _clinvar(variation_id: str) -> dict[str, str]:
    lines = [x for x in CLINVAR.read_text().splitlines() if not x.startswith("#")]
    return next(
        r for r in csv.DictReader(lines, delimiter="\t") if r["variation_id"] == variation_id
    )


def test_the_checker_finds_what_breaks_the_rules() -> None:
    """The checker itself: a dangling biosample id, an undeclared prefix, a DoseInterval
    without its interval and an 'unspecified' version are each reported."""
    bad = {
        "id": "x", "subject": {"id": "S"},
        "biosamples": [{"id": "B1", "individualId": "S"}],
        "interpretations": [{"id": "i", "progressStatus": "SOLVED", "diagnosis": {
            "disease": {"id": "MONDO:0011776", "label": "NOMID"},
            "genomicInterpretations": [{"subjectOrBiosampleId": "B2",
                                        "interpretationStatus": "CAUSATIVE",
                                        "variantInterpretation": {"variationDescriptor": {
                                            "id": "v", "xrefs": ["clinvar:4374"]}}}]}}],
        "medicalActions": [{"treatment": {"agent": {"id": "DrugBank:DB00026", "label": "a"},
                                          "doseIntervals": [{"quantity": {}}]}}],
        "metaData": {"created": "t", "createdBy": "me", "phenopacketSchemaVersion": "2.0",
                     "resources": [{"id": "mondo", "name": "m", "url": "u",
                                    "version": "unspecified", "namespacePrefix": "MONDO",
                                    "iriPrefix": "i"}]},
    }  # fmt: skip
    text = "\n".join(schema_problems(bad))
    assert "'B2' names no biosample" in text
    assert "'clinvar:4374' has no Resource" in text and "'DrugBank:DB00026' has no" in text
    assert "DoseInterval without its required interval" in text
    assert "version 'unspecified'" in text


# -- the demo ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pheno")
    out, drop = root / "results", root / "registry"
    assert main(["demo", "-o", str(out), "-q", "--phenopackets", str(drop)]) == 0
    return out, drop


def test_every_demo_packet_keeps_the_schema_s_rules(demo) -> None:
    out, drop = demo
    sheet = pd.read_csv(DEMO / "samples.csv")
    packets = _packets(out / "phenopackets")
    assert set(packets) == set(sheet["patient_id"])
    for pid, packet in packets.items():
        text = (out / "phenopackets" / f"{pid}.phenopacket.json").read_text()
        assert (drop / f"{pid}.phenopacket.json").read_text() == text
        message = Parse(text, pp.Phenopacket())  # refuses unknown fields and bad types
        assert message.subject.id == pid
        assert schema_problems(packet) == [], pid
        samples = sheet.loc[sheet["patient_id"] == pid]
        assert [b["id"] for b in packet["biosamples"]] == list(samples["sample_id"])
        for g in _genomic(packet):
            sample = g["subjectOrBiosampleId"]
            assert sample in set(samples["sample_id"])
            descriptor = g["variantInterpretation"]["variationDescriptor"]
            # the demo runs on the TEST sequence: nothing claims GRCh38's chromosome 1
            assert descriptor["vcfRecord"]["genomeAssembly"] == "TEST_LOCUS_not_GRCh38"
            assert "NC_000001" not in json.dumps(descriptor)


def test_r260w_is_one_allele_named_on_the_patient_s_haplotype(demo) -> None:
    """R260W on c.[778C>T;780A>G] is one change: one VCF record of the codon (CGA>TGG, the
    middle base from the TEST FASTA), ClinVar's record of c.778C>T cited in its words; the
    disease is the sheet's (NOMID for every demo patient), not the variant's FCAS/MWS."""
    out, _ = demo
    packet = _packets(out / "phenopackets")["P01"]
    (interpretation,) = packet["interpretations"]
    assert interpretation["progressStatus"] == "SOLVED"
    (genomic,) = _genomic(packet)
    assert genomic["interpretationStatus"] == "CAUSATIVE"
    variant = genomic["variantInterpretation"]
    clinvar = _clinvar("4374")
    assert clinvar["significance"] == "Pathogenic/Likely pathogenic"
    assert variant["acmgPathogenicityClassification"] == "LIKELY_PATHOGENIC"  # not rounded up
    descriptor = variant["variationDescriptor"]
    expressions = [(e["syntax"], e["value"]) for e in descriptor["expressions"]]
    assert ("hgvs.p", "NP_001230062.1:p.Arg260Trp") in expressions  # ClinVar 1701129's name
    assert [s for s, _ in expressions].count("hgvs.g") == 0  # TEST sequence: no NC_ accession
    with pysam.VariantFile(str(DEMO / "vcf" / "P01-blood.vcf.gz")) as vin:
        calls = {r.pos: (r.ref, r.alts[0]) for r in vin if r.pos in (R260_POS, R260_POS + 2)}
    middle = pysam.FastaFile(str(FASTA)).fetch("chr1", R260_POS, R260_POS + 1)
    record = descriptor["vcfRecord"]
    assert (int(record["pos"]), record["ref"], record["alt"]) == (
        R260_POS,
        calls[R260_POS][0] + middle + calls[R260_POS + 2][0],
        calls[R260_POS][1] + middle + calls[R260_POS + 2][1],
    )
    assert sorted(descriptor["xrefs"]) == sorted(
        [f"clinvar:{clinvar['variation_id']}", f"dbSNP:{clinvar['dbsnp']}"]
    )
    assert descriptor["description"].startswith(
        f"ClinVar VariationID 4374 ({clinvar['dbsnp']}): {clinvar['significance']} (2 stars: "
        f"{clinvar['review_status']}); last evaluated {clinvar['last_evaluated']}"
    )
    assert descriptor["allelicState"]["id"] == GENO["heterozygous"]
    assert [d["term"]["id"] for d in packet["diseases"]] == [NCBI_MONDO["CINCA"]]


def test_a_mosaic_is_mosaic_with_its_fraction_interval_and_tissue(demo) -> None:
    out, _ = demo
    sheet = pd.read_csv(DEMO / "samples.csv")
    packet = _packets(out / "phenopackets")["P09"]
    genomic = _genomic(packet)
    assert {g["subjectOrBiosampleId"] for g in genomic} == set(
        sheet.loc[sheet["patient_id"] == "P09", "sample_id"]
    )
    tissues = {b["id"]: b for b in packet["biosamples"]}
    assert tissues["P09-blood"]["sampledTissue"]["id"] == "UBERON:0000178"
    assert tissues["P09-buccal"]["sampledTissue"]["id"] == "UBERON:0006956"
    for item in genomic:
        sample = item["subjectOrBiosampleId"]
        tissue = sheet.loc[sheet["sample_id"] == sample, "tissue"].item()
        descriptor = item["variantInterpretation"]["variationDescriptor"]
        assert descriptor["allelicState"]["id"] == GENO["mosaic"]  # never heterozygous
        (extension,) = descriptor["extensions"]
        assert extension["name"] == "mosaic_allele_fraction"
        with pysam.VariantFile(str(DEMO / "vcf" / f"{sample}.vcf.gz")) as vin:
            pos = int(descriptor["vcfRecord"]["pos"])
            ad = next(r for r in vin if r.pos == pos).samples[0]["AD"]
        fraction, _, rest = extension["value"].partition(" (95% CI ")
        assert float(fraction) == pytest.approx(ad[1] / sum(ad[:2]), abs=1e-3)
        low, _, high = rest.split(")")[0].partition(" to ")
        assert float(low) < float(fraction) < float(high)
        assert extension["value"].endswith(f"in {tissue}")


def test_treatment_has_no_invented_interval_and_markers_come_from_the_sheets(demo) -> None:
    """No DoseInterval (it needs a dated interval; the sheet has study days), the dose text
    kept in the packet; a value below the assay's limit is left out, not made a number."""
    out, _ = demo
    sheet = pd.read_csv(DEMO / "samples.csv")
    response = pd.read_excel(DEMO / "response.xlsx")
    packets = _packets(out / "phenopackets")
    packet = packets["P02"]
    (action,) = packet["medicalActions"]
    assert action["treatment"] == {"agent": {"id": "DrugBank:DB00026", "label": "anakinra"}}
    dose_text = sheet.loc[sheet["patient_id"] == "P02", "dose"].iloc[0]
    assert dose_text in json.dumps(packet["metaData"]["externalReferences"])
    rows = response[response["Patient ID"] == "P02"]
    crp = [m for m in packet["measurements"] if m["assay"]["id"] == "LOINC:1988-5"]
    saa = [m for m in packet["measurements"] if m["assay"]["id"] == "LOINC:48498-0"]
    assert len(crp) == len(rows) == len(saa)
    for (_, row), c, s in zip(rows.sort_values("Study day").iterrows(), crp, saa, strict=True):
        assert c["value"]["quantity"]["value"] == pytest.approx(row["CRP (mg/dL)"] * 10)
        assert c["value"]["quantity"]["unit"]["id"] == "UCUM:mg/L"
        assert c["description"].startswith(f"study day {row['Study day']:g} ")
        assert s["value"]["quantity"]["value"] == pytest.approx(float(row["SAA (mg/L)"]))
    below = response[response["SAA (mg/L)"].astype(str).str.startswith("<")]
    assert len(below) > 0
    for _, row in below.iterrows():
        packet = packets[row["Patient ID"]]
        days = [m["description"] for m in packet["measurements"]
                if m["assay"]["id"] == "LOINC:48498-0"]  # fmt: skip
        assert not any(d.startswith(f"study day {row['Study day']:g} ") for d in days)
        note = json.dumps(packet["metaData"]["externalReferences"])
        assert f"SAA study day {row['Study day']:g}" in note and str(row["SAA (mg/L)"]) in note


def test_a_negative_patient_is_unsolved_with_no_variant(demo) -> None:
    out, _ = demo
    statuses = pd.read_csv(out / "tables" / "patients.tsv", sep="\t")
    negative = statuses.loc[statuses["status"] == "negative", "patient_id"].iloc[0]
    packet = _packets(out / "phenopackets")[negative]
    (interpretation,) = packet["interpretations"]
    assert interpretation["progressStatus"] == "UNSOLVED"
    assert "genomicInterpretations" not in interpretation["diagnosis"]
    assert [d["term"]["id"] for d in packet["diseases"]] == [NCBI_MONDO["CINCA"]]  # the sheet's


def test_the_sheet_s_diagnosis_decides_the_disease(demo) -> None:
    from nlrp3annot.delivery import records_from_results
    from nlrp3annot.delivery.phenopackets import load_codes, phenopacket
    from nlrp3annot.delivery.record import Diagnosis

    out, _ = demo
    record = next(r for r in records_from_results(out) if r.patient_id == "P01")
    codes = load_codes()
    for diagnosis, expected in (
        (Diagnosis("Muckle-Wells"), NCBI_MONDO["Muckle-Wells (familial amyloid nephropathy "
                                               "with urticaria and deafness)"]),
        (Diagnosis("CINCA"), NCBI_MONDO["CINCA"]),
        (Diagnosis("", "ORPHA:1451"), "ORPHA:1451"),
        (Diagnosis("NOMID", "omim:607115"), "OMIM:607115"),
    ):  # fmt: skip
        packet = phenopacket(dataclasses.replace(record, diagnosis=diagnosis), codes)
        assert [d.term.id for d in packet.diseases] == [expected]
        assert packet.interpretations[0].diagnosis.disease.id == expected
        assert expected.split(":")[0] in {r.namespace_prefix for r in packet.meta_data.resources}


def test_r260w_on_grch38_is_one_delins(demo) -> None:
    """Where the data are GRCh38's (not the TEST sequence), the change is one hgvs.g: the
    delins over codon 260 that HGVS and ClinVar (c.778_780delinsTGG) give."""
    from google.protobuf.json_format import MessageToDict

    from nlrp3annot.delivery import records_from_results
    from nlrp3annot.delivery.phenopackets import load_codes, phenopacket

    out, _ = demo
    record = next(r for r in records_from_results(out) if r.patient_id == "P01")
    real = dataclasses.replace(record, run=dataclasses.replace(record.run, test_locus=False))
    packet = MessageToDict(phenopacket(real, load_codes()))
    descriptor = _genomic(packet)[0]["variantInterpretation"]["variationDescriptor"]
    genomic = [e["value"] for e in descriptor["expressions"] if e["syntax"] == "hgvs.g"]
    assert genomic == [f"NC_000001.11:g.{R260_POS}_{R260_POS + 2}delinsTGG"]
    assert descriptor["vcfRecord"]["genomeAssembly"] == "GRCh38"


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


# -- a cohort run here: one patient per case a packet must get right --------------------

_VCF_HEAD = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=248956422>
##ALT=<ID=NON_REF,Description="Any possible alternative allele">
##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum depth in block">
"""
_BLOCK = (247_416_100, 247_449_200)  # reference blocks over the whole locus, as the demo's


def _gvcf(path: Path, sample: str, variants: list, blocks: bool = True) -> Path:
    """A gVCF as a caller writes it: reference blocks (REF from the TEST FASTA) around the
    variants; ``blocks`` False: the variants alone (none: no call in the locus)."""
    fasta = pysam.FastaFile(str(FASTA))

    def base(pos: int) -> str:
        return fasta.fetch("chr1", pos - 1, pos).upper()

    lines = [_VCF_HEAD + f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}"]
    at = _BLOCK[0]
    for pos, ref, alt, gt, ad in sorted(variants):
        assert base(pos) == ref
        if blocks and at < pos:
            lines.append(f"chr1\t{at}\t.\t{base(at)}\t<NON_REF>\t.\tPASS\tEND={pos - 1}\t"
                         "GT:MIN_DP\t0/0:155")  # fmt: skip
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{alt},<NON_REF>\t.\tPASS\tEND={pos}\t"
                     f"GT:AD:DP:GQ\t{gt}:{ad[0]},{ad[1]},0:{sum(ad)}:99")  # fmt: skip
        at = pos + 1
    if blocks:
        lines.append(f"chr1\t{at}\t.\t{base(at)}\t<NON_REF>\t.\tPASS\tEND={_BLOCK[1]}\t"
                     "GT:MIN_DP\t0/0:155")  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


# patient, sample, tissue, diagnosis, diagnosis code, variants (None: never genotyped), blocks
COHORT = [
    ("P01", "P01-blood", "blood", "NOMID", "", [(*D303N, "0/1", (90, 95))], True),
    ("P02", "P02-blood", "blood", "Muckle-Wells", "MONDO:0008633",
     [(*T348M, "1/1", (0, 180))], True),
    ("P03", "P03-blood", "blood", "FCAS", "",
     [(R260_POS, "C", "T", "0/1", (83, 103)), (R260_POS + 2, "A", "G", "1/1", (0, 197))], True),
    ("P04", "P04-buccal", "buccal", "NOMID", "", [(*D303N, "0/1", (166, 23))], True),
    ("P05", "P05-blood", "blood", "CAPS", "", [(*R5C, "0/1", (92, 88))], True),
    ("P06", "P06-blood", "blood", "NOMID", "", [], True),
    ("P07", "P07-saliva", "saliva", "NOMID", "", [], False),
    ("P08", "P08-blood", "blood", "NOMID", "", None, True),
    ("P10", "P10-blood", "blood", "", "", [(*D303N, "0/1", (90, 95))], True),
    ("P11", "P11-blood", "blood", "", "", [], True),
    ("../../../outside/pwned", "pwned-blood", "blood", "NOMID", "",
     [(*D303N, "0/1", (90, 95))], True),
    ("MRN/2024/0042", "mrn-blood", "blood", "NOMID", "", [], True),
]  # fmt: skip


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict], str]:
    """``nlrp3annot run`` on the cohort's VCFs (the demo's clinical table); its packets
    folder, the packets by file name, and what the run said on stderr."""
    root = tmp_path_factory.mktemp("cohort") / "deep" / "in"
    root.mkdir(parents=True)
    rows, vcfs = [], []
    for pid, sample, tissue, diagnosis, code, variants, blocks in COHORT:
        rows.append({"patient_id": pid, "sample_id": sample, "tissue": tissue,
                     "diagnosis": diagnosis, "diagnosis_code": code, "treatment": "anakinra",
                     "dose": "1-2 mg/kg/day", "sex": "F"})  # fmt: skip
        if variants is not None:
            vcfs.append(str(_gvcf(root / f"{sample}.vcf", sample, variants, blocks)))
    pd.DataFrame(rows).to_csv(root / "samples.csv", index=False)
    out = root / "results"
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        assert main(["run", *vcfs, "--fasta", str(FASTA), "--clinical",
                     str(DEMO / "response.xlsx"), "--samples", str(root / "samples.csv"),
                     "-o", str(out), "-q"]) == 0  # fmt: skip
    return out / "phenopackets", _packets(out / "phenopackets"), said.getvalue()


def test_every_cohort_packet_keeps_the_schema_s_rules(cohort) -> None:
    folder, packets, _ = cohort
    assert packets
    for name, packet in packets.items():
        Parse((folder / f"{name}.phenopacket.json").read_text(), pp.Phenopacket())
        assert schema_problems(packet) == [], name


def test_each_case_is_rendered_as_the_inputs_say(cohort) -> None:
    _, packets, _ = cohort

    def only(name: str) -> dict:
        (g,) = _genomic(packets[name])
        return g

    # germline het, ClinVar 4377 (Pathogenic/Likely pathogenic)
    het = only("P01")
    assert het["interpretationStatus"] == "CAUSATIVE"
    assert het["variantInterpretation"]["acmgPathogenicityClassification"] == "LIKELY_PATHOGENIC"
    descriptor = het["variantInterpretation"]["variationDescriptor"]
    assert descriptor["allelicState"]["id"] == GENO["heterozygous"]
    assert f"dbSNP:{_clinvar('4377')['dbsnp']}" in descriptor["xrefs"]
    assert [d["term"]["id"] for d in packets["P01"]["diseases"]] == [NCBI_MONDO["CINCA"]]
    # homozygous; the sheet's own MONDO code is the disease
    hom = only("P02")["variantInterpretation"]["variationDescriptor"]
    assert hom["allelicState"]["id"] == GENO["homozygous"]
    assert (hom["vcfRecord"]["pos"], hom["vcfRecord"]["ref"]) == (str(T348M[0]), T348M[1])
    assert [d["term"]["id"] for d in packets["P02"]["diseases"]] == ["MONDO:0008633"]
    # phased R260W: one allele, the FCAS of the sheet (not read off the variant)
    r260w = only("P03")["variantInterpretation"]["variationDescriptor"]
    assert (r260w["vcfRecord"]["ref"], r260w["vcfRecord"]["alt"]) == ("CGA", "TGG")
    assert "clinvar:4374" in r260w["xrefs"]
    assert [d["term"]["id"] for d in packets["P03"]["diseases"]] == [
        NCBI_MONDO["familial cold urticaria"]
    ]
    # a mosaic from a VCF (23 of 189 reads), in buccal mucosa
    mosaic = only("P04")
    descriptor = mosaic["variantInterpretation"]["variationDescriptor"]
    assert descriptor["allelicState"]["id"] == GENO["mosaic"]
    assert float(descriptor["extensions"][0]["value"].split()[0]) == pytest.approx(23 / 189, 1e-3)
    assert mosaic["subjectOrBiosampleId"] == "P04-buccal"
    assert packets["P04"]["biosamples"][0]["sampledTissue"]["id"] == "UBERON:0006956"
    # a VUS: a candidate, the patient unsolved (it crashed the run before)
    vus = only("P05")
    assert vus["interpretationStatus"] == "CANDIDATE"
    assert packets["P05"]["interpretations"][0]["progressStatus"] == "UNSOLVED"
    assert (
        f"clinvar:{_clinvar('1305073')['variation_id']}"
        in (vus["variantInterpretation"]["variationDescriptor"]["xrefs"])
    )
    # negative, not assessable (no call in the locus), never genotyped
    for name, progress in (("P06", "UNSOLVED"), ("P07", "IN_PROGRESS"),
                           ("P08", "UNKNOWN_PROGRESS")):  # fmt: skip
        (interpretation,) = packets[name]["interpretations"]
        assert interpretation.get("progressStatus", "UNKNOWN_PROGRESS") == progress, name
        assert _genomic(packets[name]) == []
        assert [d["term"]["id"] for d in packets[name]["diseases"]] == [NCBI_MONDO["CINCA"]]
    saliva = packets["P07"]["biosamples"][0]  # no UBERON code invented for it
    assert "sampledTissue" not in saliva and "saliva" in saliva["description"]
    assert [b["id"] for b in packets["P08"]["biosamples"]] == ["P08-blood"]


def test_a_vus_is_classed_uncertain(cohort) -> None:
    _, packets, _ = cohort
    assert _clinvar("1305073")["significance"] == "VUS"
    (vus,) = _genomic(packets["P05"])
    assert vus["variantInterpretation"]["acmgPathogenicityClassification"] == (
        "UNCERTAIN_SIGNIFICANCE"
    )


def test_a_patient_without_diagnosis_gets_no_invented_disease(cohort) -> None:
    """No diagnosis: a negative patient's packet has no disease and no Diagnosis; a patient
    with a reported change gets no packet (the schema keeps a variant only under a
    Diagnosis, which needs a disease), and the run says so."""
    _, packets, said = cohort
    assert "diseases" not in packets["P11"]
    assert "diagnosis" not in packets["P11"]["interpretations"][0]
    assert "P10" not in packets
    assert "no Phenopacket for patient 'P10': no diagnosis given" in said


def test_a_packet_s_file_name_is_the_patient_s_safe_name(cohort) -> None:
    folder, packets, _ = cohort
    assert packets["outside_pwned"]["subject"]["id"] == "../../../outside/pwned"
    assert packets["MRN_2024_0042"]["subject"]["id"] == "MRN/2024/0042"
    assert [p for p in folder.rglob("*") if p.parent != folder] == []  # no sub-folder
    assert not (folder.parents[3] / "outside").exists()
    assert [
        p.name for p in folder.parents[3].rglob("*.phenopacket.json") if p.parent != folder
    ] == []
