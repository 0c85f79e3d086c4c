"""One self-contained HTML page per patient, printable on one A4 sheet from the browser.

Built from a :class:`~nlrp3annot.delivery.record.PatientRecord` alone; the sentences come
from :mod:`nlrp3annot.delivery.wording`. As in the cohort report, every piece of user
text goes through html.escape and the page loads nothing (no script, font or image from
outside), so it opens and prints the same offline.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from nlrp3annot.delivery import wording
from nlrp3annot.delivery.record import Measurement, PatientRecord, SampleResult, VariantCall

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
@page { size: A4; margin: 12mm 13mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 8.5pt; line-height: 1.3;
       color: #111; margin: 0 auto; max-width: 184mm; }
@media screen { body { margin: 1.5em auto; } }
h1 { font-size: 13pt; margin: 0; }
h2 { font-size: 11pt; margin: .5em 0 .2em; padding: .25em .45em; border-radius: 3px; }
h2.pos { background: #fbe3e1; border-left: 5px solid #c0392b; }
h2.neg { background: #e3eef7; border-left: 5px solid #2471a3; }
h2.other { background: #fdf2d9; border-left: 5px solid #b9770e; }
h3 { font-size: 9pt; margin: .65em 0 .15em; border-bottom: 1px solid #999; }
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
.small { font-size: 7.5pt; color: #333; }
.sign { display: flex; gap: 2em; margin-top: .8em; font-size: 8pt; }
.sign div { flex: 1; border-top: 1px solid #111; padding-top: .15em; }
section, table, .sign { break-inside: avoid; }
"""


def _short(name: str) -> str:
    """The part of an HGVS name after its accession."""
    return name.split(":")[-1]


def _variant_rows(variants: Sequence[VariantCall]) -> str:
    dates = sorted({v.clinvar.data_date for v in variants if v.clinvar.data_date})
    clinvar = f"ClinVar (data of {', '.join(dates) or 'unknown date'})"
    head = (
        "<colgroup><col style='width:17%'><col style='width:14%'><col style='width:12%'>"
        "<col style='width:20%'><col style='width:26%'><col style='width:11%'></colgroup>"
        "<tr><th>Change on NM_001243133.2</th><th>Protein (legacy)</th><th>Sample</th>"
        f"<th>Zygosity; allele fraction (95% CI)</th><th>{e(clinvar)}</th>"
        "<th>CAPS phenotype</th></tr>"
    )
    rows = []
    for v in variants:
        protein = _short(v.hgvs_p) or "none"
        legacy = f" ({e(v.legacy)})" if v.legacy else ""
        zyg = wording.ZYGOSITY.get(v.zygosity, v.zygosity)
        fraction = wording.fraction_text(v)
        reads = f"; {v.alt_reads}/{v.depth} reads" if v.alt_reads is not None and v.depth else ""
        exon = f"exon {v.exon}" + (f" (legacy exon {v.legacy_exon})" if v.legacy_exon else "")
        rows.append(
            "<tr>"
            f"<td>{e(_short(v.hgvs_c))}<br><span class='small'>{e(exon)}"
            f"{'; ' + e(v.domain) if v.domain else ''}</span></td>"
            f"<td>{e(protein)}{legacy}</td>"
            f"<td>{e(v.tissue or 'tissue not given')}<br><span class='small'>{e(v.sample)}"
            f"{'; read scan' if v.from_scan else ''}</span></td>"
            f"<td>{e(zyg)}{'; ' + e(fraction) if fraction else ''}{e(reads)}</td>"
            f"<td>{_clinvar_cell(v)}</td>"
            f"<td>{e(v.caps_phenotype.replace(';', ', ') or 'not in the sourced table')}"
            f"{'; low penetrance' if v.penetrance == 'low' else ''}</td>"
            "</tr>"
        )
    return f"<table class='variants'>{head}{''.join(rows)}</table>"


def _clinvar_cell(v: VariantCall) -> str:
    c = v.clinvar
    if not c.significance:
        return "not in ClinVar"
    parts = [f"<strong>{e(c.significance)}</strong>"]
    if c.review_status:
        parts.append(e(c.review_status))
    if c.variation_id:
        parts.append(f"VariationID {e(c.variation_id)}")
    if c.matched_by.startswith("protein change"):
        parts.append(f"by the {e(c.matched_by)}")
    return "; ".join(parts)


def _lod_cell(s: SampleResult) -> str:
    if s.scan_limits is None:
        return "not measured (VCF, no scan of the reads)" if s.status else ""
    limits = s.scan_limits
    text = f"{wording.pct(limits.known)} (95% power)"
    if limits.other_snvs is not None:
        text += f"; other coding SNVs {wording.pct(limits.other_snvs)}"
    if limits.indels is not None:
        text += f", small indels {wording.pct(limits.indels)}"
    return text


def _sample_rows(samples: Sequence[SampleResult], min_depth: int | None) -> str:
    depth = f"&ge;{min_depth} reads" if min_depth else "min. depth"
    head = (
        "<colgroup><col style='width:14%'><col style='width:9%'><col style='width:12%'>"
        "<col style='width:14%'><col style='width:12%'><col style='width:12%'>"
        "<col style='width:27%'></colgroup>"
        "<tr><th>Sample</th><th>Tissue</th><th>Data</th><th>Sample status</th>"
        f"<th class='num'>Coding bases covered ({depth})</th>"
        "<th class='num'>Lowest depth at pathogenic positions</th>"
        "<th>Limit of detection (mosaic at the known pathogenic positions)</th></tr>"
    )
    rows = []
    for s in samples:
        covered = "" if not s.status else (
            "unknown" if s.coding_bases_covered is None else wording.pct(s.coding_bases_covered)
        )  # fmt: skip
        lowest = "" if s.lowest_depth is None else str(s.lowest_depth)
        data = "reads scanned" if s.from_scan else ("VCF" if s.status else "none")
        rows.append(
            f"<tr><td>{e(s.sample)}</td><td>{e(s.tissue or 'not given')}</td><td>{data}</td>"
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


def render_patient(record: PatientRecord) -> str:
    """The patient's page as one HTML string."""
    run = record.run
    status_class = STATUS_CLASS.get(record.status, "other")
    title = f"NLRP3 genetic result \u2013 {record.patient_id}"
    reported = record.reported_variants
    others = [v for v in record.variants if not v.reported]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        "<div class='head'><div><h1>NLRP3 genetic result</h1>"
        f"<div>Patient <strong id='patient'>{e(record.patient_id)}</strong></div></div>"
        # no date of its own: the page is a function of the results alone, so a page made
        # again by 'report' is the page 'run' wrote (run.json's hash still holds); the
        # signer dates it below
        f"<div class='meta'>nlrp3annot {e(run.tool_version or '?')}<br>"
        f"ClinVar data of {e(run.clinvar_date or 'unknown date')}</div></div>",
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
        f"<section id='result'><h2 class='{status_class}'>{e(wording.heading(record))}</h2>",
        _list(wording.summary_sentences(record)),
        "</section>",
        "<section id='variants'><h3>Variants</h3>",
        _variant_rows(reported)
        if reported
        else "<p>No pathogenic or uncertain-significance NLRP3 variant.</p>",
    ]
    if others:
        names = ", ".join(sorted({f"{_short(v.hgvs_c)}" for v in others}))
        parts.append(
            f"<p class='small'>Also carried, benign or without a protein effect (not "
            f"reported as findings): {e(names)}.</p>"
        )
    parts += [
        "</section>",
        "<section id='samples'><h3>Samples, coverage and limit of detection</h3>",
        _sample_rows(record.samples, run.min_depth),
        "</section>",
        "<section id='clinical'><h3>Treatment and inflammation markers</h3>",
        _clinical(record),
        f"<p class='small'>Study group: {e(record.group or 'none')}"
        + (f" ({e(record.reason)})" if record.reason else "")
        + ".</p></section>",
        "<section id='limitations'><h3>Limitations</h3>",
        _list(wording.limitations(record)),
        "</section>",
        "<section id='method'><h3>Method</h3>",
        f"<p class='small'>{e(wording.method_sentence(record))}</p>",
        "</section>",
        "<div class='sign'><div>Reported by</div><div>Reviewed and signed</div>"
        "<div>Date</div></div>",
        "</body></html>",
    ]
    return "\n".join(parts)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def page_names(patient_ids: Sequence[str]) -> dict[str, str]:
    """A file name per patient: its ID with characters a file name cannot safely hold
    replaced (an ID is the lab's text), made unique where two IDs then meet."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for pid in patient_ids:
        stem = _UNSAFE.sub("_", pid).strip("._") or "patient"
        name, n = f"{stem}.html", 1
        while name.lower() in used:  # (case-insensitive file systems)
            n += 1
            name = f"{stem}-{n}.html"
        used.add(name.lower())
        names[pid] = name
    return names


def write_patient_pages(
    records: Sequence[PatientRecord], folder: str | Path, every_id: Sequence[str] = ()
) -> list[Path]:
    """One page per record in ``folder``, each written atomically; the paths written.
    ``every_id``: all the results' patients, so that a page written for some of them has
    the name it has among all."""
    from nlrp3annot.io.atomic import atomic_write

    folder = Path(folder)
    names = page_names(list(dict.fromkeys([*every_id, *(r.patient_id for r in records)])))
    written = []
    for record in records:
        page = render_patient(record)
        written.append(
            atomic_write(folder / names[record.patient_id], lambda h, p=page: h.write(p))
        )
    return written
