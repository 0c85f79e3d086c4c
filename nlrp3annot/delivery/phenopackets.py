"""One GA4GH Phenopacket (schema v2) per patient, made with the schema's own protobuf classes
(the ``phenopackets`` package) from a :class:`~nlrp3annot.delivery.record.PatientRecord`.

What goes where:
- each reported change (pathogenic or uncertain) is a VariationDescriptor: HGVS on MANE as
  the sample reads it (c.[778C>T;780A>G], p.Arg260Trp), the genomic alleles, the VCF record,
  GENO's allelic state, and for a mosaic the allele fraction with its 95% interval as an
  extension (the schema has no mosaic state); ClinVar's class as the ACMG classification;
- the disease: the samples sheet's ``diagnosis`` when given, else the CAPS phenotype(s) the
  sourced table reports for the patient's pathogenic change, else CAPS itself (the cohort's
  inclusion), each as MONDO as NCBI's ClinVar gives it (reference/registry_codes.tsv);
- the treatment (DrugBank) with its dose, and SAA, CRP and ESR as LOINC measurements; the
  sheet gives study days, not dates, so each measurement names its day in its description.

Pure except :func:`write_phenopackets` and the one date the schema requires (``created``:
SOURCE_DATE_EPOCH when set, for byte-identical outputs; else when the run finished).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nlrp3annot.delivery.record import Measurement, PatientRecord, VariantCall

SCHEMA_VERSION = "2.0"
_ACMG = (  # ClinVar's words -> the schema's AcmgPathogenicityClassification
    ("likely pathogenic", "LIKELY_PATHOGENIC"),
    ("pathogenic/likely pathogenic", "PATHOGENIC"),
    ("pathogenic", "PATHOGENIC"),
    ("likely benign", "LIKELY_BENIGN"),
    ("benign", "BENIGN"),
    ("uncertain", "UNCERTAIN_SIGNIFICANCE"),
    ("vus", "UNCERTAIN_SIGNIFICANCE"),
    ("conflicting", "UNCERTAIN_SIGNIFICANCE"),
)
_PROGRESS = {
    "positive_germline": "SOLVED",
    "positive_mosaic": "SOLVED",
    "vus_only": "UNSOLVED",
    "negative": "UNSOLVED",
}
_RESOURCES = {  # prefix -> (id, name, url, iri prefix)
    "MONDO": ("mondo", "Mondo Disease Ontology", "http://purl.obolibrary.org/obo/mondo.obo",
              "http://purl.obolibrary.org/obo/MONDO_"),
    "GENO": ("geno", "Genotype Ontology", "http://purl.obolibrary.org/obo/geno.owl",
             "http://purl.obolibrary.org/obo/GENO_"),
    "HGNC": ("hgnc", "HUGO Gene Nomenclature Committee", "https://www.genenames.org",
             "https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/"),
    "LOINC": ("loinc", "Logical Observation Identifiers Names and Codes", "https://loinc.org",
              "https://loinc.org/"),
    "DrugBank": ("drugbank", "DrugBank", "https://go.drugbank.com",
                 "https://go.drugbank.com/drugs/"),
    "UCUM": ("ucum", "Unified Code for Units of Measure", "https://ucum.org",
             "https://ucum.org/"),
    "UO": ("uo", "Units of measurement ontology", "http://purl.obolibrary.org/obo/uo.owl",
           "http://purl.obolibrary.org/obo/UO_"),
}  # fmt: skip
_DOSE = re.compile(
    r"^\s*(?P<low>\d+(?:\.\d+)?)\s*(?:-|to|–)?\s*(?P<high>\d+(?:\.\d+)?)?\s*"
    r"(?P<unit>mg/kg|mg)\s*(?:/\s*(?P<per>day|d))?\s*$"
)


@dataclass(frozen=True)
class Code:
    id: str
    label: str


@dataclass(frozen=True)
class RegistryCodes:
    """reference/registry_codes.tsv: (kind, key) -> code."""

    codes: dict[tuple[str, str], Code]

    def get(self, kind: str, key: str) -> Code | None:
        return self.codes.get((kind, key))


def load_codes(path: Path | None = None) -> RegistryCodes:
    if path is None:
        from importlib.resources import files

        path = Path(str(files("nlrp3annot.reference_data").joinpath("registry_codes.tsv")))
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    rows = csv.DictReader(lines, delimiter="\t")
    return RegistryCodes({(r["kind"], r["key"]): Code(r["id"], r["label"]) for r in rows})


def acmg_class(significance: str) -> str:
    """The schema's classification of a ClinVar significance ('NOT_PROVIDED' when none)."""
    words = significance.strip().lower().replace("_", " ")
    for start, name in _ACMG:
        if words.startswith(start):
            return name
    return "NOT_PROVIDED"


def diseases_of(record: PatientRecord, diagnosis: str, codes: RegistryCodes) -> list[Code]:
    """The patient's disease terms: the sheet's diagnosis, else the phenotypes reported for
    the pathogenic change, else CAPS."""
    names = [d.strip().upper() for d in re.split(r"[;,/]", diagnosis) if d.strip()]
    if not names:
        for variant in record.reported_variants:
            if variant.weight == "pathogenic":
                names += [p.strip().upper() for p in variant.caps_phenotype.split(";") if p]
    names = ["NOMID" if n in ("CINCA", "NOMID/CINCA") else n for n in names]
    found = [c for n in dict.fromkeys(names) if (c := codes.get("disease", n)) is not None]
    return found or [c for c in [codes.get("disease", "CAPS")] if c is not None]


def phenopacket(record: PatientRecord, codes: RegistryCodes):
    """The patient's Phenopacket (a ``phenopackets.Phenopacket`` message)."""
    import phenopackets as pp

    diseases = diseases_of(record, record.diagnosis.name, codes)
    packet = pp.Phenopacket(
        id=f"{record.patient_id}-nlrp3annot",
        subject=pp.Individual(id=record.patient_id),
        meta_data=_meta_data(record),
    )
    for disease in diseases:
        packet.diseases.append(
            pp.Disease(term=pp.OntologyClass(id=disease.id, label=disease.label))
        )
    interpretation = pp.Interpretation(
        id=f"{record.patient_id}-NLRP3",
        progress_status=_PROGRESS.get(record.status, "UNKNOWN_PROGRESS"),
        summary=_summary(record),
    )
    interpretation.diagnosis.disease.CopyFrom(
        pp.OntologyClass(id=diseases[0].id, label=diseases[0].label)
    )
    for variant in record.reported_variants:
        interpretation.diagnosis.genomic_interpretations.append(_genomic(variant, codes))
    packet.interpretations.append(interpretation)
    if record.treatment is not None:
        packet.medical_actions.append(_medical_action(record, codes))
    for measured in record.measurements:
        if (made := _measurement(measured, codes)) is not None:
            packet.measurements.append(made)
    packet.meta_data.external_references.append(_external(record))
    _add_resources(packet)
    return packet


def _summary(record: PatientRecord) -> str:
    samples = "; ".join(record.deciding_samples.split("; ")) or "no sample genotyped"
    return f"NLRP3 status {record.status or 'unknown'} ({samples}); made by nlrp3annot"


def _genomic(variant: VariantCall, codes: RegistryCodes):
    import phenopackets as pp

    pathogenic = variant.weight == "pathogenic"
    descriptor = pp.VariationDescriptor(
        id=f"{variant.sample}:{variant.hgvs_c}",
        label=variant.legacy or variant.hgvs_p,
        molecule_context=pp.MoleculeContext.genomic,
    )
    gene = codes.get("gene", "NLRP3")
    if gene is not None:
        descriptor.gene_context.CopyFrom(pp.GeneDescriptor(value_id=gene.id, symbol=gene.label))
    for syntax, value in (("hgvs.c", variant.hgvs_c), ("hgvs.p", variant.hgvs_p)):
        if value:
            descriptor.expressions.append(pp.Expression(syntax=syntax, value=value))
    for value in variant.hgvs_g:
        if value:
            descriptor.expressions.append(pp.Expression(syntax="hgvs.g", value=value))
    if variant.vcf_alleles:
        chrom, pos, ref, alt = variant.vcf_alleles[0]
        descriptor.vcf_record.CopyFrom(
            pp.VcfRecord(
                genome_assembly=variant.build or "GRCh38", chrom=chrom, pos=pos, ref=ref, alt=alt
            )  # fmt: skip
        )
    state = codes.get("zygosity", "het" if variant.zygosity == "mosaic" else variant.zygosity)
    if state is not None:
        descriptor.allelic_state.CopyFrom(pp.OntologyClass(id=state.id, label=state.label))
    if variant.zygosity == "mosaic" and variant.vaf is not None:
        text = f"{variant.vaf:.4g}"
        if variant.vaf_ci_low is not None and variant.vaf_ci_high is not None:
            text += f" (95% CI {variant.vaf_ci_low:.4g} to {variant.vaf_ci_high:.4g})"
        descriptor.extensions.append(
            pp.Extension(
                name="mosaic_allele_fraction",
                value=f"{text} in {variant.tissue or 'the sample'}",
            )
        )
    interpretation = pp.VariantInterpretation(
        acmg_pathogenicity_classification=acmg_class(variant.clinvar.significance),
        therapeutic_actionability=pp.TherapeuticActionability.UNKNOWN_ACTIONABILITY,
        variation_descriptor=descriptor,
    )
    return pp.GenomicInterpretation(
        subject_or_biosample_id=variant.sample,
        interpretation_status="CAUSATIVE" if pathogenic else "UNCERTAIN_SIGNIFICANCE",
        variant_interpretation=interpretation,
    )


def _medical_action(record: PatientRecord, codes: RegistryCodes):
    import phenopackets as pp

    treated = record.treatment
    assert treated is not None
    drug = codes.get("drug", treated.name.lower()) or Code("", treated.name)
    treatment = pp.Treatment(agent=pp.OntologyClass(id=drug.id, label=drug.label))
    dose = _DOSE.match(treated.dose)
    if dose:
        unit = codes.get("unit", dose["unit"])
        quantity = pp.Quantity(
            unit=pp.OntologyClass(id=unit.id, label=unit.label) if unit else None,
            value=float(dose["low"]),
        )
        if dose["high"]:  # a range ("1-2 mg/kg/day"): the lower end, and the range itself
            quantity.reference_range.CopyFrom(pp.ReferenceRange(
                unit=quantity.unit, low=float(dose["low"]), high=float(dose["high"])))  # fmt: skip
        interval = pp.DoseInterval(quantity=quantity)
        per = codes.get("unit", "day") if dose["per"] else None
        if per is not None:
            interval.schedule_frequency.CopyFrom(pp.OntologyClass(id=per.id, label=per.label))
        treatment.dose_intervals.append(interval)
    return pp.MedicalAction(treatment=treatment)


def _measurement(measured: Measurement, codes: RegistryCodes):
    import phenopackets as pp

    assay = codes.get("measure", measured.measure)
    if assay is None or measured.value is None:
        return None  # (the diary score has no LOINC code)
    unit = codes.get("unit", measured.unit)  # (measurements.tsv: the canonical unit)
    day = "unknown study day" if measured.day is None else f"study day {measured.day:g}"
    description = f"{day} ({measured.visit})"
    if measured.censored:
        description += f"; below the assay's limit ({measured.raw_value}): value is the limit"
    return pp.Measurement(
        description=description,
        assay=pp.OntologyClass(id=assay.id, label=assay.label),
        value=pp.Value(
            quantity=pp.Quantity(
                unit=pp.OntologyClass(id=unit.id, label=unit.label) if unit else None,
                value=measured.value,
            )
        ),
    )


def _meta_data(record: PatientRecord):
    import phenopackets as pp

    meta = pp.MetaData(
        created_by=f"nlrp3annot {record.run.tool_version}",
        phenopacket_schema_version=SCHEMA_VERSION,
    )
    meta.created.FromDatetime(_created(record.run.finished))
    return meta


def _add_resources(packet) -> None:
    """A Resource for each ontology whose terms the packet uses (and only those)."""
    import phenopackets as pp
    from google.protobuf.json_format import MessageToDict

    used: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("id", "valueId") and isinstance(value, str) and ":" in value:
                    used.add(value.split(":", 1)[0])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(MessageToDict(packet))
    for prefix, (rid, name, url, iri) in _RESOURCES.items():
        if prefix not in used:
            continue
        packet.meta_data.resources.append(
            pp.Resource(
                id=rid,
                name=name,
                url=url,
                version="unspecified",
                namespace_prefix=prefix,
                iri_prefix=iri,
            )
        )


def _external(record: PatientRecord):
    import phenopackets as pp

    return pp.ExternalReference(
        id=record.run.clinvar_table or "ClinVar",
        description=f"ClinVar data of {record.run.clinvar_date or 'unknown date'}",
    )


def _created(finished: str) -> datetime:
    """SOURCE_DATE_EPOCH when set (reproducible outputs), else when the run finished, else
    now (a run writes its packets before it finishes)."""
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    try:
        return datetime.fromisoformat(finished.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.now(tz=UTC).replace(microsecond=0)


def to_json(packet) -> str:
    from google.protobuf.json_format import MessageToJson

    return MessageToJson(packet, indent=1, sort_keys=False) + "\n"


def write_phenopackets(records: Iterable[PatientRecord], folder: Path) -> list[Path]:
    """One ``<patient>.phenopacket.json`` per record in ``folder``."""
    from nlrp3annot.io.atomic import atomic_write

    codes = load_codes()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for record in records:
        packet = phenopacket(record, codes)
        path = folder / f"{record.patient_id}.phenopacket.json"
        text = to_json(packet)
        atomic_write(path, lambda handle, text=text: handle.write(text))
        written.append(path)
    return written
