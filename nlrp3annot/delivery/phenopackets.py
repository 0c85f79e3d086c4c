"""One GA4GH Phenopacket (schema v2) per patient, made with the schema's own protobuf classes
(the ``phenopackets`` package). It renders the patient's
:class:`~nlrp3annot.delivery.finding.Finding` and decides nothing of its own, so the packet
and the patient page cannot disagree.

What goes where:
- the interpretation: the Finding's progress status and headline; each reported change is a
  GenomicInterpretation with the Finding's status (CAUSATIVE only for the change a positive
  rests on, else CANDIDATE) and ACMG class (ClinVar's class rounded toward uncertainty:
  "Pathogenic/Likely pathogenic" is LIKELY_PATHOGENIC); ClinVar's own words, stars, date last
  evaluated and VariationID are the VariationDescriptor's ``description``, with ``clinvar:``
  and ``dbSNP:`` xrefs;
- one allele per VariationDescriptor: R260W on the sample's haplotype c.[778C>T;780A>G] is
  one delins over codon 260 (one hgvs.g, one VCF record of the MNV); GENO's allelic state,
  GENO:0000964 "mosaic" for a mosaic (never heterozygous), with the allele fraction, its 95%
  interval and tissue as the extension ``mosaic_allele_fraction``;
- the disease: only the patient's (the samples sheet's code when it is a MONDO, OMIM, ORPHA or
  ICD10 CURIE, else its name through reference/registry_codes.tsv); never the phenotype a
  variant is reported with. Without one there is no Diagnosis (the schema's needs a disease):
  a patient with no reported change gets a packet without it; one with reported changes gets
  none (a packet would drop them) and is returned as skipped, with the reason;
- one Biosample per sample (UBERON tissue where registry_codes.tsv has it, else the tissue in
  words); each GenomicInterpretation names its sample's Biosample;
- the treatment agent (DrugBank) without DoseIntervals (the schema's needs a dated interval;
  the sheet gives study days), SAA, CRP and ESR as LOINC measurements named by study day; a
  value below an assay's limit ("<5") is left out, since a Quantity needs a value and any
  number would be invented. What is left out, and the sheet's dose, are said in the sources'
  external references;
- data of the demo's TEST sequence never claims GRCh38: no hgvs.g on NC_000001.11, and the
  VCF record's assembly says TEST_LOCUS_not_GRCh38.

Pure except :func:`write_phenopackets` and the one date the schema requires (``created``:
SOURCE_DATE_EPOCH when set, for byte-identical outputs; else when the run finished).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nlrp3annot.delivery.finding import Finding, VariantFinding, finding_of, phenotype_of
from nlrp3annot.delivery.record import Measurement, PatientRecord, SampleResult, VariantCall

SCHEMA_VERSION = "2.0.2"  # the release of the ``phenopackets`` classes the packet is made with
TEST_ASSEMBLY = "TEST_LOCUS_not_GRCh38"
# a diagnosis code of the samples sheet taken as it is: prefix (any case) -> (prefix, local id)
_SHEET_CODES = {
    "MONDO": ("MONDO", re.compile(r"^\d{7}$")),
    "OMIM": ("OMIM", re.compile(r"^\d{6}$")),
    "MIM": ("OMIM", re.compile(r"^\d{6}$")),
    "ORPHA": ("ORPHA", re.compile(r"^\d+$")),
    "ORPHANET": ("ORPHA", re.compile(r"^\d+$")),
    "ICD10": ("ICD10", re.compile(r"^[A-Z]\d\d(\.\d{1,2})?$")),
    "ICD-10": ("ICD10", re.compile(r"^[A-Z]\d\d(\.\d{1,2})?$")),
}
_SEX = {"f": "FEMALE", "female": "FEMALE", "m": "MALE", "male": "MALE"}
_CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:[^/\s]")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Code:
    id: str
    label: str


@dataclass(frozen=True)
class Resource:
    prefix: str
    id: str
    name: str
    url: str
    iri_prefix: str
    version: str  # '@clinvar': the run's ClinVar release; '@sheet': as the sheet gives it


@dataclass(frozen=True)
class RegistryCodes:
    """reference/registry_codes.tsv: (kind, key) -> code, and the resources of its header."""

    codes: dict[tuple[str, str], Code]
    resources: dict[str, Resource] = field(default_factory=dict)

    def get(self, kind: str, key: str) -> Code | None:
        return self.codes.get((kind, key))

    def label_of(self, code_id: str) -> str:
        return next((c.label for c in self.codes.values() if c.id == code_id), "")


@dataclass(frozen=True)
class Written:
    """What :func:`write_phenopackets` did: the packets written, and each patient without
    one with the reason (the caller says so)."""

    paths: list[Path]
    skipped: list[tuple[str, str]]

    def __len__(self) -> int:
        return len(self.paths)


def _codes_path() -> Path:
    from nlrp3annot.genome.reference import data_file

    return Path(str(data_file("registry_codes.tsv")))


def load_codes(path: Path | None = None) -> RegistryCodes:
    text = (path or _codes_path()).read_text(encoding="utf-8")
    resources = {}
    for line in text.splitlines():
        if line.startswith("#resource\t"):
            prefix, rid, name, url, iri, version = line.split("\t")[1:7]
            resources[prefix] = Resource(prefix, rid, name, url, iri, version)
    rows = csv.DictReader([x for x in text.splitlines() if not x.startswith("#")], delimiter="\t")
    codes = {(r["kind"], r["key"]): Code(r["id"], r["label"]) for r in rows}
    return RegistryCodes(codes, resources)


def disease_of(record: PatientRecord, codes: RegistryCodes) -> Code | None:
    """The patient's disease: the sheet's code when it is a CURIE of a disease resource we
    declare, else the diagnosis name through the table; None when neither gives one."""
    diagnosis = record.diagnosis
    prefix, _, local = diagnosis.code.strip().partition(":")
    known = _SHEET_CODES.get(prefix.strip().upper())
    if known and known[1].match(local.strip()):
        curie = f"{known[0]}:{local.strip()}"
        label = diagnosis.name.strip() or codes.label_of(curie) or curie
        return Code(curie, label)
    return codes.get("disease", phenotype_of(diagnosis.name)) if diagnosis.name else None


def biosample_ids(record: PatientRecord) -> dict[str, str]:
    """Each sample's Biosample id: its name when that is a plain identifier and unique, else
    the patient's file name with the sample's position."""
    names = [s.sample for s in record.samples]
    out = {}
    for i, name in enumerate(names, start=1):
        plain = _SAFE_ID.match(name) and names.count(name) == 1 and name != record.patient_id
        out[name] = name if plain else f"{record.file_stem}-sample-{i}"
    return out


def skip_reason(finding: Finding, codes: RegistryCodes) -> str:
    """Why no packet can be written for this patient ('' when one can)."""
    if finding.variants and disease_of(finding.record, codes) is None:
        given = finding.record.diagnosis.name or finding.record.diagnosis.code
        why = f"the diagnosis {given!r} has no code we know" if given else "no diagnosis given"
        return (
            f"{why}; a Phenopacket holds a variant only under a Diagnosis, which needs a "
            "disease (give the patient's diagnosis, or its MONDO/OMIM/ORPHA/ICD10 code, in the "
            "samples sheet's diagnosis or diagnosis_code column)"
        )
    return ""


def phenopacket(record: PatientRecord, codes: RegistryCodes, finding: Finding | None = None):
    """The patient's Phenopacket (a ``phenopackets.Phenopacket`` message). Raises ValueError
    where :func:`skip_reason` gives a reason."""
    import phenopackets as pp

    finding = finding or finding_of(record)
    reason = skip_reason(finding, codes)
    if reason:
        raise ValueError(f"patient {record.patient_id!r}: {reason}")
    stem = record.file_stem
    subject = pp.Individual(id=record.patient_id)
    if sex := _SEX.get(record.details.sex.strip().lower()):
        subject.sex = sex
    packet = pp.Phenopacket(id=f"{stem}-nlrp3annot", subject=subject, meta_data=_meta(record))
    ids = biosample_ids(record)
    for sample in record.samples:
        packet.biosamples.append(_biosample(sample, ids[sample.sample], record, codes))
    disease = disease_of(record, codes)
    interpretation = pp.Interpretation(
        id=f"{stem}-NLRP3", progress_status=finding.progress, summary=_summary(finding)
    )
    if disease is not None:
        term = pp.OntologyClass(id=disease.id, label=disease.label)
        packet.diseases.append(pp.Disease(term=term))
        interpretation.diagnosis.disease.CopyFrom(term)
        for variant in finding.variants:
            interpretation.diagnosis.genomic_interpretations.append(
                _genomic(variant, ids.get(variant.call.sample, record.patient_id), record, codes)
            )
    packet.interpretations.append(interpretation)
    notes = []
    if record.treatment is not None:
        drug = codes.get("drug", record.treatment.name.strip().lower())
        if drug is not None:
            treatment = pp.Treatment(agent=pp.OntologyClass(id=drug.id, label=drug.label))
            packet.medical_actions.append(pp.MedicalAction(treatment=treatment))
        notes.append(_treatment_note(record, drug))
    left_out = []
    for measured in record.measurements:
        made = _measurement(measured, codes)
        if made is not None:
            packet.measurements.append(made)
        elif codes.get("measure", measured.measure) is not None:
            left_out.append(f"{measured.measure.upper()} {_day(measured)}: {measured.raw_value}")
    if left_out:
        notes.append(
            "Left out of measurements, below the assay's limit (a Quantity needs a value; any "
            "number would be invented): " + "; ".join(left_out)
        )
    _external(packet, record, notes)
    _add_resources(packet, codes, record)
    return packet


def _summary(finding: Finding) -> str:
    text = finding.headline
    if finding.reason:
        text += f". {finding.reason}"
    return f"{text} (made by nlrp3annot)"


def _biosample(sample: SampleResult, biosample_id: str, record: PatientRecord,
               codes: RegistryCodes):  # fmt: skip
    import phenopackets as pp

    made = pp.Biosample(id=biosample_id, individual_id=record.patient_id)
    tissue = codes.get("tissue", " ".join(sample.tissue.lower().split()))
    parts = [f"sample {sample.sample}", f"tissue: {sample.tissue or 'not given'}"]
    if sample.specimen.assay:
        parts.append(f"assay: {sample.specimen.assay}")
    if tissue is not None:
        made.sampled_tissue.CopyFrom(pp.OntologyClass(id=tissue.id, label=tissue.label))
    made.description = "; ".join(parts)
    return made


def _genomic(v: VariantFinding, subject_id: str, record: PatientRecord, codes: RegistryCodes):
    import phenopackets as pp

    call = v.call
    descriptor = pp.VariationDescriptor(
        id=f"{subject_id}_{call.hgvs_c.split(':')[-1]}".replace(":", "_"),
        label=call.legacy or call.hgvs_p.split(":")[-1] or call.hgvs_c.split(":")[-1],
        description=_clinvar_description(v),
        molecule_context=pp.MoleculeContext.genomic,
    )
    if (gene := codes.get("gene", "NLRP3")) is not None:
        descriptor.gene_context.CopyFrom(pp.GeneDescriptor(value_id=gene.id, symbol=gene.label))
    for syntax, value in (("hgvs.c", call.hgvs_c), ("hgvs.p", call.hgvs_p)):
        if value:
            descriptor.expressions.append(pp.Expression(syntax=syntax, value=value))
    allele = one_allele(call)
    if allele is not None:
        chrom, pos, ref, alt = allele
        genomic = "" if record.run.test_locus else hgvs_g(call, allele)
        if genomic:  # (the TEST sequence is not NC_000001.11: no accession names it)
            descriptor.expressions.append(pp.Expression(syntax="hgvs.g", value=genomic))
        assembly = TEST_ASSEMBLY if record.run.test_locus else call.build
        descriptor.vcf_record.CopyFrom(
            pp.VcfRecord(genome_assembly=assembly, chrom=chrom, pos=pos, ref=ref, alt=alt)
        )
    if call.clinvar.variation_id:
        descriptor.xrefs.append(f"clinvar:{call.clinvar.variation_id}")
    if re.fullmatch(r"rs\d+", call.clinvar.dbsnp):
        descriptor.xrefs.append(f"dbSNP:{call.clinvar.dbsnp}")
    if (state := codes.get("zygosity", call.zygosity)) is not None:
        descriptor.allelic_state.CopyFrom(pp.OntologyClass(id=state.id, label=state.label))
    if call.zygosity == "mosaic" and call.vaf is not None:
        text = f"{call.vaf:.4g}"
        if call.vaf_ci_low is not None and call.vaf_ci_high is not None:
            text += f" (95% CI {call.vaf_ci_low:.4g} to {call.vaf_ci_high:.4g})"
        where = call.tissue or "the sample"
        descriptor.extensions.append(
            pp.Extension(name="mosaic_allele_fraction", value=f"{text} in {where}")
        )
    return pp.GenomicInterpretation(
        subject_or_biosample_id=subject_id,
        interpretation_status=v.interpretation_status,
        variant_interpretation=pp.VariantInterpretation(
            acmg_pathogenicity_classification=v.acmg,
            therapeutic_actionability=pp.TherapeuticActionability.UNKNOWN_ACTIONABILITY,
            variation_descriptor=descriptor,
        ),
    )


def _clinvar_description(v: VariantFinding) -> str:
    """'ClinVar VariationID 4374 (rs121908150): Pathogenic/Likely pathogenic (2 stars: ...);
    last evaluated 2024-10-16; ...' in ClinVar's own words."""
    c = v.call.clinvar
    if not c.variation_id:
        return f"ClinVar: {v.clinvar}"
    rs = f" ({c.dbsnp})" if c.dbsnp else ""
    parts = [f"ClinVar VariationID {c.variation_id}{rs}: {v.clinvar}"]
    if c.last_evaluated:
        parts.append(f"last evaluated {c.last_evaluated}")
    if c.matched_by and c.matched_by != "variant":
        parts.append(f"matched by the {c.matched_by}")
    if c.context:
        parts.append(c.context)
    if v.call.phase == "phase_unknown":
        parts.append("the phase of its alleles is not known")
    return "; ".join(parts)


def one_allele(call: VariantCall) -> tuple[str, int, str, str] | None:
    """The change as one VCF allele: the record itself for one allele; for SNVs of one codon
    on one haplotype (R260W: 247424227 C>T and 247424229 A>G), the MNV over their span, the
    bases between them from the reference (reference/known_bases.tsv). None when the alleles
    are not known to be on one haplotype or a base between them is not known."""
    alleles = sorted(call.vcf_alleles, key=lambda a: a[1])
    if len(alleles) <= 1:
        return alleles[0] if alleles else None
    snvs = all(len(a[2]) == len(a[3]) == 1 for a in alleles)
    cis = call.phase == "cis"
    start, end = alleles[0][1], alleles[-1][1]
    if not (snvs and cis and end - start < 3 and len({a[0] for a in alleles}) == 1):
        return None
    changed = {a[1]: (a[2], a[3]) for a in alleles}
    reference = _reference_bases(call.build)
    ref, alt = "", ""
    for pos in range(start, end + 1):
        if pos in changed:
            ref, alt = ref + changed[pos][0], alt + changed[pos][1]
        elif pos in reference:
            ref, alt = ref + reference[pos], alt + reference[pos]
        else:
            return None
    return alleles[0][0], start, ref, alt


def _reference_bases(build: str) -> dict[int, str]:
    from nlrp3annot.genome.reference import known_bases

    try:
        return {k.pos: k.ref for k in known_bases(build)}
    except (ValueError, KeyError):
        return {}


def hgvs_g(call: VariantCall, allele: tuple[str, int, str, str]) -> str:
    """The change's hgvs.g: calls.tsv's own for one allele (normalised there); for an MNV
    (R260W's codon) a delins over its span, as HGVS names two changes one base apart and
    as ClinVar names R260W (c.778_780delinsTGG). '' when calls.tsv gives no accession."""
    if len(call.vcf_alleles) == 1:
        return call.hgvs_g[0] if call.hgvs_g else ""
    accession = next((g.split(":")[0] for g in call.hgvs_g if ":" in g), "")
    _, pos, ref, alt = allele
    return f"{accession}:g.{pos}_{pos + len(ref) - 1}delins{alt}" if accession else ""


def _treatment_note(record: PatientRecord, drug: Code | None) -> str:
    treated = record.treatment
    assert treated is not None
    text = f"Treatment as the samples sheet gives it: {treated.name}"
    if treated.dose:
        text += f", {treated.dose}"
    text += " (no dose interval: the schema's needs dates, the sheet gives study days)"
    if drug is None:
        text += "; no code for this drug in registry_codes.tsv, so no medical action"
    return text


def _day(measured: Measurement) -> str:
    day = "unknown study day" if measured.day is None else f"study day {measured.day:g}"
    return f"{day} ({measured.visit})"


def _measurement(measured: Measurement, codes: RegistryCodes):
    import phenopackets as pp

    assay = codes.get("measure", measured.measure)
    unit = codes.get("unit", measured.unit)  # (measurements.tsv: the canonical unit)
    if assay is None or unit is None or measured.value is None or measured.censored:
        return None  # (the diary score has no LOINC code; a censored value has no number)
    return pp.Measurement(
        description=_day(measured),
        assay=pp.OntologyClass(id=assay.id, label=assay.label),
        value=pp.Value(
            quantity=pp.Quantity(
                unit=pp.OntologyClass(id=unit.id, label=unit.label), value=measured.value
            )
        ),
    )


def _meta(record: PatientRecord):
    import phenopackets as pp

    meta = pp.MetaData(
        created_by=f"nlrp3annot {record.run.tool_version}",
        phenopacket_schema_version=SCHEMA_VERSION,
    )
    meta.created.FromDatetime(_created(record.run.finished))
    return meta


def curie_prefixes(packet_json: object) -> set[str]:
    """Every CURIE prefix a packet (as JSON) uses: OntologyClass ids, gene ids and xrefs."""
    used: set[str] = set()

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, value in node.items():
                walk(value, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif key in ("id", "valueId", "xrefs") and _CURIE.match(str(node)):
            used.add(str(node).split(":", 1)[0])

    if isinstance(packet_json, dict):  # (ids of the packet's own objects are not CURIEs)
        for k, value in packet_json.items():
            if k not in ("id", "subject", "biosamples", "metaData"):
                walk(value, k)
        for sample in packet_json.get("biosamples", []):
            walk({k: v for k, v in sample.items() if k not in ("id", "individualId")})
    return used


def _add_resources(packet, codes: RegistryCodes, record: PatientRecord) -> None:
    """A Resource for each CURIE prefix the packet uses (and only those)."""
    import phenopackets as pp
    from google.protobuf.json_format import MessageToDict

    used = curie_prefixes(MessageToDict(packet))
    clinvar = record.run.clinvar_release or f"table built {record.run.clinvar_date or 'unknown'}"
    for prefix in sorted(used):
        r = codes.resources.get(prefix)
        if r is None:
            raise ValueError(f"registry_codes.tsv declares no resource for the prefix {prefix}")
        version = {"@clinvar": f"ClinVar: {clinvar}", "@sheet": "as the samples sheet gives it"}
        packet.meta_data.resources.append(
            pp.Resource(
                id=r.id,
                name=r.name,
                url=r.url,
                version=version.get(r.version, r.version),
                namespace_prefix=r.prefix,
                iri_prefix=r.iri_prefix,
            )
        )


def _external(packet, record: PatientRecord, notes: list[str]) -> None:
    import phenopackets as pp

    run = record.run
    packet.meta_data.external_references.append(
        pp.ExternalReference(
            id="clinvar_table",
            reference=run.clinvar_table,
            description=f"ClinVar data of {run.clinvar_date or 'unknown date'}"
            + (f" ({run.clinvar_release})" if run.clinvar_release else ""),
        )
    )
    if notes:
        packet.meta_data.external_references.append(
            pp.ExternalReference(
                id="samples_sheet_and_clinical_table",
                reference="inputs/samples sheet; tables/measurements.tsv",
                description=". ".join(notes),
            )
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


def write_phenopackets(records: Iterable[PatientRecord], folder: Path) -> Written:
    """One ``<file_stem>.phenopacket.json`` per record in ``folder`` (the patient's safe
    file name, never the raw ID); a patient no valid packet can be written for is skipped,
    with the reason."""
    from nlrp3annot.io.atomic import atomic_write

    codes = load_codes()
    folder.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    for record in records:
        finding = finding_of(record)
        reason = skip_reason(finding, codes)
        if reason:
            skipped.append((record.patient_id, reason))
            continue
        text = to_json(phenopacket(record, codes, finding))
        path = folder / f"{record.file_stem}.phenopacket.json"
        atomic_write(path, lambda handle, text=text: handle.write(text))
        written.append(path)
    return Written(written, skipped)
