"""One self-contained HTML page per patient, printable on one A4 sheet from the browser.

Built from a :class:`~nlrp3annot.delivery.record.PatientRecord` alone; the sentences come
from :mod:`nlrp3annot.delivery.wording`. As in the cohort report, every piece of user
text goes through html.escape and the page loads nothing (no script, font or image from
outside), so it opens and prints the same offline.
"""

from __future__ import annotations

import hashlib
import html
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nlrp3annot.delivery import wording
from nlrp3annot.delivery.finding import Finding, VariantFinding, finding_of
from nlrp3annot.delivery.lab import LabProfile
from nlrp3annot.delivery.record import Measurement, PatientRecord, SampleResult

e = html.escape

MEASURES = {  # the markers shown, in this order, with their labels
    "saa": "SAA",
    "crp": "CRP",
    "esr": "ESR",
    "diary": "Symptom diary",
}
STATUS_CLASS = {
    "positive_germline": "pos",
    "positive_mosaic": "pos",
    "negative": "neg",
}
# A4 is 210 x 297 mm; with 12 mm margins a typical patient (one or two samples, one
# variant, three visits) fits on one sheet at 8.5 pt.
CSS = """
@page { size: A4; margin: 10mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 7.8pt; line-height: 1.22;
       color: #111; margin: 0 auto; max-width: 184mm; }
@media screen { body { margin: 1.5em auto; } }
h1 { font-size: 12pt; margin: 0; white-space: nowrap; }
h2 { font-size: 11pt; margin: .5em 0 .2em; padding: .25em .45em; border-radius: 3px; }
h2.pos { background: #fbe3e1; border-left: 5px solid #c0392b; }
h2.neg { background: #e3eef7; border-left: 5px solid #2471a3; }
h2.other { background: #fdf2d9; border-left: 5px solid #b9770e; }
h3 { font-size: 8.5pt; margin: .45em 0 .1em; border-bottom: 1px solid #999; }
p, ul { margin: .2em 0; }
ul { padding-left: 1.3em; }
li { margin: .05em 0; }
table { border-collapse: collapse; width: 100%; margin: .15em 0; }
td, th { border: 1px solid #bbb; padding: 1px 4px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.num, th.num { text-align: right; }
.head { display: flex; justify-content: space-between; align-items: flex-end;
        border-bottom: 2px solid #111; padding-bottom: .2em; }
.meta { font-size: 7.5pt; color: #333; text-align: right; }
.banner { background: #fde2e1; border: 1px solid #c0392b; padding: .3em .5em; margin: .35em 0;
          font-weight: 600; }
.small { font-size: 7pt; color: #333; }
.sign { display: flex; gap: 2em; margin-top: .8em; font-size: 8pt; }
.lab { font-size: 8pt; }
.grid { display: grid; grid-template-columns: repeat(4, 1fr); gap: 0 .8em; font-size: 8pt;
        margin: .3em 0; }
.label { color: #555; }
.sign div { flex: 1; border-top: 1px solid #111; padding-top: .15em; }
section, table, .sign { break-inside: avoid; }
"""


def _short(name: str) -> str:
    """The part of an HGVS name after its accession."""
    return name.split(":")[-1]


def _variant_rows(variants: Sequence[VariantFinding], run) -> str:
    build = _build_label(run, (v.call.build for v in variants))
    head = (
        "<colgroup><col style='width:22%'><col style='width:15%'><col style='width:15%'>"
        "<col style='width:18%'><col style='width:30%'></colgroup>"
        f"<tr><th>Change on {e(run.transcript)}; genomic ({e(build)})</th>"
        "<th>Protein (legacy)</th><th>Sample</th>"
        "<th>Zygosity; allele fraction (95% CI); reads</th>"
        "<th>ClinVar (class as ClinVar states it)</th></tr>"
    )
    rows = []
    for n, vf in enumerate(variants, start=1):
        v = vf.call
        protein = _short(v.hgvs_p) or "none"
        legacy = f" ({e(v.legacy)})" if v.legacy else ""
        fraction = wording.fraction_text(v)
        reads = f"; {v.alt_reads} of {v.depth} reads" if v.alt_reads is not None and v.depth else ""
        exon = f"exon {v.exon}" + (f" (legacy exon {v.legacy_exon})" if v.legacy_exon else "")
        genomic = "; ".join(
            f"{chrom}:{pos} {ref}&gt;{alt}" for chrom, pos, ref, alt in
            ((e(c), p, e(r), e(a)) for c, p, r, a in v.vcf_alleles)
        )  # fmt: skip
        hgvs_g = "; ".join(e(_short(g)) for g in v.hgvs_g if g)
        genotype = f"; caller genotype {e(v.genotype)}" if v.genotype and not v.from_scan else ""
        phenotype = v.caps_phenotype.replace(";", ", ")
        rows.append(
            "<tr>"
            f"<td><span id='v{n}-c'>{e(_short(v.hgvs_c))}</span><br><span class='small' "
            f"id='v{n}-g'>{hgvs_g}<br>{genomic}</span><br><span class='small'>"
            f"{e(exon)}{'; ' + e(v.domain) if v.domain else ''}</span></td>"
            f"<td id='v{n}-p'>{e(protein)}{legacy}<br><span class='small'>reported in: "
            f"{e(phenotype or 'not in the sourced CAPS table')}"
            f"{'; low penetrance' if v.penetrance == 'low' else ''}</span></td>"
            f"<td>{e(v.tissue or 'tissue not given')}<br><span class='small'>{e(v.sample)}"
            f"{'; read scan' if v.from_scan else ''}</span></td>"
            f"<td id='v{n}-zygosity'>{e(vf.origin)}{'; ' + e(fraction) if fraction else ''}"
            f"{e(reads)}{genotype}"
            + ("<br><strong>to be confirmed</strong>" if vf.confirm else "")
            + f"</td><td id='v{n}-clinvar'>{_clinvar_cell(vf)}</td></tr>"
        )
    return f"<table class='variants'>{head}{''.join(rows)}</table>"


def _build_label(run, builds: Iterable[str] = ()) -> str:
    """The genome the coordinates are on: the build of the calls, and the FASTA."""
    named = "/".join(sorted({b for b in builds if b})) or "build of the calls not recorded"
    if run.test_locus:
        return f"TEST sequence, not the human genome ({named} coordinates)"
    return f"{named} ({run.reference_fasta or 'FASTA not recorded'})"


def _clinvar_cell(vf: VariantFinding) -> str:
    c = vf.call.clinvar
    if not c.significance:
        return "not in ClinVar"
    parts = [f"<strong>{e(c.significance)}</strong>"]
    if c.review_status:
        stars = "" if c.stars is None else f"{'&#9733;' * c.stars}{'&#9734;' * (4 - c.stars)} "
        parts.append(f"{stars}{e(c.review_status)}")
    ids = []
    if c.variation_id:
        ids.append(f"VariationID {e(c.variation_id)}")
    if c.dbsnp:
        ids.append(e(c.dbsnp))
    if ids:
        parts.append(", ".join(ids))
    if c.last_evaluated:
        parts.append(f"last evaluated {e(c.last_evaluated)}")
    if c.matched_by.startswith("protein change"):
        parts.append(f"by the {e(c.matched_by)}")
    text = "; ".join(parts)
    if c.context:
        text += f"<br><span class='small'>{e(c.context)}</span>"
    return text


def _lod_cell(s: SampleResult) -> str:
    if s.scan_limits is None:
        return "not measured (VCF, no scan of the reads)" if s.status else ""
    return wording.limits_text(s.scan_limits)


def _sample_rows(samples: Sequence[SampleResult], min_depth: int | None) -> str:
    depth = f"&ge;{min_depth} reads" if min_depth else "min. depth"
    head = (
        "<colgroup><col style='width:13%'><col style='width:8%'><col style='width:11%'>"
        "<col style='width:13%'><col style='width:10%'><col style='width:10%'>"
        "<col style='width:35%'></colgroup>"
        "<tr><th>Sample (specimen)</th><th>Tissue</th><th>Assay; data</th><th>Sample status</th>"
        f"<th class='num'>Coding bases covered ({depth})</th>"
        "<th class='num'>Lowest depth at pathogenic positions</th>"
        "<th>Limit of detection (mosaic at the known pathogenic positions)</th></tr>"
    )
    rows = []
    for n, s in enumerate(samples, start=1):
        covered = "" if not s.status else (
            "unknown" if s.coding_bases_covered is None else wording.share(s.coding_bases_covered)
        )  # fmt: skip
        lowest = "" if s.lowest_depth is None else str(s.lowest_depth)
        data = "reads scanned" if s.from_scan else ("caller's VCF" if s.status else "none")
        assay = f"{e(s.specimen.assay)}; " if s.specimen.assay else ""
        specimen = s.specimen
        dates = ", ".join(
            x for x in (
                f"specimen <span id='specimen-{n}'>{e(specimen.specimen_id)}</span>"
                if specimen.specimen_id else "",
                f"collected <span id='collected-{n}'>{e(specimen.collected)}</span>"
                if specimen.collected else "",
                f"received <span id='received-{n}'>{e(specimen.received)}</span>"
                if specimen.received else "",
            ) if x
        )  # fmt: skip
        rows.append(
            f"<tr><td>{e(s.sample)}{f'<br><span class=small>{dates}</span>' if dates else ''}"
            f"</td><td>{e(s.tissue or 'not given')}</td><td>{assay}{data}</td>"
            f"<td>{e(s.status or 'not genotyped')}</td><td class='num'>{e(covered)}</td>"
            f"<td class='num'>{e(lowest)}</td><td>{e(_lod_cell(s))}</td></tr>"
        )
    return f"<table class='samples'>{head}{''.join(rows)}</table>"


def _value(m: Measurement) -> str:
    if m.value is None:
        return m.raw_value
    text = f"{m.value:.3g}" if abs(m.value) < 1000 else f"{m.value:.0f}"
    return f"{m.censored}{text}" if m.censored else text


def _clinical(record: PatientRecord) -> str:
    parts = []
    t = record.treatment
    if t is not None:
        line = e(t.name) + (f", {e(t.dose)}" if t.dose else "")
        events = []
        if t.withdrawal_day is not None:
            events.append(f"withdrawn on study day {t.withdrawal_day:g}")
        if t.flare_day is not None:
            events.append(f"flare on day {t.flare_day:g}")
        elif t.flare_censored:
            events.append("no flare seen")
        if t.followup_end_day is not None:
            events.append(f"followed to day {t.followup_end_day:g}")
        parts.append(f"<p>Treatment: {line}" + ("; " + "; ".join(events) if events else "")
                     + ".</p>")  # fmt: skip
    else:
        parts.append("<p>Treatment: not given in the samples sheet.</p>")
    shown = [m for m in record.measurements if m.measure in MEASURES]
    if not shown:
        parts.append("<p>No SAA, CRP, ESR or diary measurements in the clinical table.</p>")
        return "".join(parts)
    visits: dict[str, float | None] = {}
    for m in shown:  # (already in study-day order)
        visits.setdefault(m.visit, m.day)
    cells = {(m.measure, m.visit): _value(m) for m in shown}
    units = {m.measure: m.unit for m in shown}
    head = "<tr><th>Marker</th>" + "".join(
        f"<th class='num'>{e(v)}{'' if d is None else f' (day {d:g})'}</th>"
        for v, d in visits.items()
    ) + "</tr>"  # fmt: skip
    rows = [
        f"<tr><td>{MEASURES[name]} ({e(units[name])})</td>"
        + "".join(f"<td class='num'>{e(cells.get((name, v), ''))}</td>" for v in visits)
        + "</tr>"
        for name in MEASURES
        if name in units
    ]
    parts.append(f"<table class='clinical'>{head}{''.join(rows)}</table>")
    return "".join(parts)


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{e(x)}</li>" for x in items) + "</ul>"


@dataclass(frozen=True)
class PageSettings:
    """What a page holds beyond the results: the laboratory and whether the research
    content (inflammation markers, study group) is shown."""

    lab: LabProfile | None = None
    research: bool = False


def report_date() -> str:
    """The report's date: SOURCE_DATE_EPOCH's when set (reproducible outputs), else today's
    (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = (datetime.fromtimestamp(int(epoch), tz=UTC) if epoch.isdigit()
            else datetime.now(tz=UTC))  # fmt: skip
    return when.strftime("%Y-%m-%d")


def report_id(finding: Finding, prefix: str) -> str:
    """A report's ID: the lab's prefix, the patient's file name and a digest of what the
    report states (the same results give the same ID; changed results a new one)."""
    record = finding.record
    stated = "|".join(
        [record.patient_id, record.run.tool_version, " ".join(record.run.command),
         record.run.clinvar_date, finding.status, finding.headline,
         *(f"{v.call.sample}:{v.call.hgvs_c}:{v.call.vaf}" for v in finding.variants)]
    )  # fmt: skip
    digest = hashlib.sha256(stated.encode()).hexdigest()[:8].upper()
    return f"{prefix}-{record.file_stem or 'patient'}-{digest}"


def _dl(pairs: Iterable[tuple[str, str, str]]) -> str:
    """A compact 'label: value' block of (id, label, value); empty values say 'not given'."""
    cells = "".join(
        f"<div><span class='label'>{e(k)}</span> <span id='{i}'>"
        f"{e(v) if v else '<em>not given</em>'}</span></div>"
        for i, k, v in pairs
    )
    return f"<div class='grid'>{cells}</div>"


def _lab_head(lab: LabProfile | None) -> str:
    if lab is None:
        return ("<div class='lab'><strong>Laboratory not named</strong> (give a lab profile: "
                "nlrp3annot report --lab lab.toml)</div>")  # fmt: skip
    contact = ", ".join(x for x in (lab.address, lab.phone, lab.email) if x)
    accredited = "; ".join(lab.accreditation) or "no accreditation stated"
    return (
        f"<div class='lab'><strong id='lab-name'>{e(lab.name)}</strong><br>"
        f"<span id='lab-contact'>{e(contact)}</span><br>"
        f"<span class='small'>Accreditation: <span id='lab-accreditation'>{e(accredited)}"
        "</span></span></div>"
    )


def _sign_out(lab: LabProfile | None) -> str:
    people = lab.signatories if lab else ()
    if not people:
        return (
            "<div class='sign'><div>Reported by (name, credentials)</div>"
            "<div>Reviewed and signed (name, credentials)</div><div>Date</div></div>"
        )
    cells = "".join(
        f"<div>{e(p.name)}{', ' + e(p.credentials) if p.credentials else ''}"
        f"<br><span class='small'>{e(p.role)}</span><br>Signature and date:</div>"
        for p in people
    )
    return f"<div class='sign' id='sign-out'>{cells}</div>"


def render_patient(record: PatientRecord, settings: PageSettings | None = None) -> str:
    """The patient's page as one HTML string, rendered from the patient's Finding."""
    settings = settings or PageSettings()
    finding = finding_of(record)
    run, lab = record.run, settings.lab
    details = record.details
    status_class = STATUS_CLASS.get(record.status, "other")
    title = f"NLRP3 genetic test report \u2013 {record.patient_id}"
    reported = finding.variants
    others = [v for v in record.variants if not v.reported]
    diagnosis = record.diagnosis.name + (f" ({record.diagnosis.code})" if record.diagnosis.code
                                         else "")  # fmt: skip
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<div class='head'>{_lab_head(lab)}<div class='meta'>"
        f"<h1>NLRP3 genetic test report</h1>"
        f"Report ID <strong id='report-id'>"
        f"{e(report_id(finding, lab.report_id_prefix if lab else 'NLRP3'))}</strong><br>"
        f"Report date <span id='report-date'>{report_date()}</span></div></div>",
    ]
    if run.research_use_only:
        why = []
        if run.test_locus:
            why.append("computed on the nlrp3annot TEST sequence, not the human genome")
        if run.synthetic:
            why.append("made-up demo patients")
        parts.append(
            "<p class='banner' id='research-use'>RESEARCH USE ONLY \u2013 not for diagnosis: "
            + e("; ".join(why))
            + ".</p>"
        )
    parts += [
        "<section id='patient'>",
        _dl(
            [
                ("patient-id", "Patient", record.patient_id),
                ("patient-name", "Name", details.name),
                ("mrn", "MRN", details.medical_record_number),
                ("date-of-birth", "Date of birth", details.date_of_birth),
                ("sex", "Sex", details.sex),
                ("diagnosis", "Clinical diagnosis", diagnosis),
                ("indication", "Indication", details.indication),
                ("ordering-clinician", "Ordering clinician", details.ordering_clinician),
            ]
        ),  # fmt: skip
        "</section>",
        f"<section id='result'><h2 class='{status_class}'>{e(finding.headline)}</h2>",
        _list(wording.summary_sentences(finding)),
        "</section>",
        "<section id='variants'><h3>Variants</h3>",
        _variant_rows(reported, run)
        if reported
        else f"<p>{e(_no_variants_text(record.status))}</p>",  # fmt: skip
    ]
    if others:
        names = ", ".join(sorted({f"{_short(v.hgvs_c)}" for v in others}))
        parts.append(
            f"<p class='small'>Also carried, benign or without a protein effect (not "
            f"reported as findings): {e(names)}.</p>"
        )
    parts += [
        "</section>",
        "<section id='interpretation'><h3>Interpretation</h3>",
        _list(finding.interpretation),
        "</section>",
        "<section id='recommendations'><h3>Recommendations</h3>",
        _list(finding.recommendations),
        "</section>",
        "<section id='samples'><h3>Samples, coverage and limit of detection</h3>",
        _sample_rows(record.samples, run.min_depth),
        "</section>",
        "<section id='limitations'><h3>Method and limitations</h3>",
        f"<p class='small'><span id='method'>{e(wording.method_sentence(record))}"
        + (f" Laboratory method: {e(lab.methods)}" if lab and lab.methods else "")
        + "</span> Assay performance: <span id='assay-performance'>"
        + (
            e(lab.assay_performance.rstrip("."))
            if lab and lab.assay_performance
            else "<em>not given</em> (no lab profile)"
        )  # fmt: skip
        + f"</span>. Genome reference: <span id='genome-build'>"
        f"{e(_build_label(run, (v.build for v in record.variants)))}</span>.</p>",
        f"<p class='small'>{e(' '.join(wording.limitations(record)))}</p>",
        "</section>",
    ]
    if lab and lab.disclaimers:
        parts.append(
            f"<section id='disclaimers'><p class='small'>{e(' '.join(lab.disclaimers))}</p>"
            "</section>"
        )
    parts.append(_sign_out(lab))
    if settings.research:
        parts += [
            "<section id='research'><h3>Research data (not part of the clinical result)</h3>",
            _clinical(record),
            f"<p class='small'>Study group: {e(record.group or 'none')}"
            + (f" ({e(record.reason)})" if record.reason else "")
            + ".</p></section>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def _no_variants_text(status: str) -> str:
    """The variants section without a reported change, true to what the data could show."""
    if status == "negative":
        return "No pathogenic, likely pathogenic or uncertain-significance NLRP3 variant found."
    if status == "not_assessable":
        return "None reported; the data cannot show whether one is there (see the result)."
    return "None: no sample of this patient was genotyped."


def write_patient_pages(
    records: Sequence[PatientRecord], folder: str | Path, settings: PageSettings | None = None
) -> list[Path]:
    """One page per record in ``folder``, named by the record's safe file name, each
    written atomically; the paths written."""
    from nlrp3annot.io.atomic import atomic_write

    folder = Path(folder)
    written = []
    for record in records:
        page = render_patient(record, settings)
        name = f"{record.file_stem}.html"
        written.append(atomic_write(folder / name, lambda h, p=page: h.write(p)))
    return written
