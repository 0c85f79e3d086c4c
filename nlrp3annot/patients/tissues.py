"""A patient's status from the statuses of its samples, tissue-aware. Pure.

Rule (first that applies), over the samples the samples sheet gives the patient and those
the genotypes hold for it:

1. The most informative sample, in the order positive_germline, positive_mosaic,
   vus_only, negative, not_assessable, is not negative: its status is the patient's (a
   clone seen in one tissue counts whatever the others show; samples all not assessable
   leave the patient not assessable).
2. The best sample is ``negative``. The patient is ``negative`` only if
   (a) at least one assessable negative sample is from blood or a myeloid fraction
   (:data:`BLOOD_MYELOID_TISSUES`), or
   (b) every sample of the patient is assessable and negative, and not every one of them
   is from a named tissue other than blood/myeloid (a single negative sample without a
   tissue is such a patient).
   Otherwise ``not_assessable``, with a note naming the negative tissues and the samples
   that were not assessable or not genotyped, and why. A patient negative only in named
   non-blood tissues (buccal, skin, saliva, fibroblasts, hair...) is ``not_assessable``
   too, unless the caller counts such negatives (``count_non_blood``: the analysis plan's
   ``non_blood_negative = "negative"``), then ``negative`` with a note saying so.

Why: NOMID mosaicism is often highest in myeloid cells, lower in buccal or skin cells,
so a negative buccal sample beside a blood sample that could not be assessed (a limit of
detection above the mosaic fraction that matters, too little depth) does not exclude a
mosaic, and neither do negatives from buccal or skin cells alone (the mosaic may be in the
myeloid cells no sample came from); a negative blood/myeloid sample does.

A sample listed in the samples sheet but absent from the genotypes counts as not
assessable ("not genotyped"): the sheet says the patient has it, and nothing says what it
carries. Without tissues (no tissue column) several samples fall under (b).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Status of a sample, most informative first (a positive anywhere decides).
STATUS_PRIORITY = ["positive_germline", "positive_mosaic", "vus_only", "negative", "not_assessable"]

# Tissue names read as blood or a myeloid fraction, after normalising: lower case,
# punctuation as spaces, the words DNA/cells/cell/sample/fraction dropped and a plural s
# dropped ("Whole-blood DNA" -> whole blood, "PBMCs" -> pbmc, "myeloid cells" -> myeloid).
# Exact names, not substrings: "blood T cells" (lymphoid) must not count as myeloid.
BLOOD_MYELOID_TISSUES = frozenset(
    {
        "blood",
        "whole blood",
        "peripheral blood",
        "edta blood",
        "pbmc",
        "peripheral blood mononuclear",
        "granulocyte",
        "neutrophil",
        "monocyte",
        "myeloid",
        "bone marrow",
    }
)
_DROPPED_WORDS = {"dna", "cells", "cell", "sample", "fraction"}
WHY_BLOOD = (
    "NOMID mosaicism is often highest in myeloid cells, so a negative needs an assessable "
    "blood/myeloid sample or every sample assessable"
)
WHY_NON_BLOOD = (
    "NOMID mosaicism is often highest in myeloid cells, so a negative from other tissues "
    "alone does not exclude a mosaic; test blood or myeloid cells"
)
COUNTED_BY_PLAN = 'counted as negative by the analysis plan (non_blood_negative = "negative")'
NOT_GENOTYPED = ""  # the status of a samples-sheet sample without a genotype


@dataclass(frozen=True)
class SampleStatus:
    sample: str
    tissue: str  # as the samples sheet writes it; '' when not given
    status: str  # one of STATUS_PRIORITY, or NOT_GENOTYPED
    note: str = ""  # the genotypes' note for the sample (why not assessable)


@dataclass(frozen=True)
class PatientStatus:
    status: str  # one of STATUS_PRIORITY; '' when no sample has a genotype
    best: SampleStatus | None  # the sample whose variant is shown
    reason: str  # why the samples gave this status ('' when one sample says it all)


def normalise_tissue(tissue: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", tissue.lower()).split()
    words = [w for w in words if w not in _DROPPED_WORDS]
    if words and len(words[-1]) > 3 and words[-1].endswith("s"):
        words[-1] = words[-1][:-1]
    return " ".join(words)


def is_blood_or_myeloid(tissue: str) -> bool:
    return normalise_tissue(tissue) in BLOOD_MYELOID_TISSUES


def is_non_blood(tissue: str) -> bool:
    """A named tissue that is not blood or a myeloid fraction (buccal, skin, saliva...);
    False for a tissue not given, which may be blood."""
    return bool(normalise_tissue(tissue)) and not is_blood_or_myeloid(tissue)


def patient_status(samples: Sequence[SampleStatus], count_non_blood: bool = False) -> PatientStatus:
    """The patient's status by the rule of the module docstring."""
    genotyped = [s for s in samples if s.status != NOT_GENOTYPED]
    if not genotyped:
        return PatientStatus("", None, "")
    best = min(genotyped, key=lambda s: STATUS_PRIORITY.index(s.status))
    if best.status != "negative":
        return PatientStatus(best.status, best, "")
    negatives = [s for s in samples if s.status == "negative"]
    unassessed = [s for s in samples if s.status != "negative"]
    blood = [s for s in negatives if is_blood_or_myeloid(s.tissue)]
    if not unassessed:
        if all(is_non_blood(s.tissue) for s in negatives):
            only = f"negative in {', '.join(_label(s) for s in negatives)} only, no blood or "
            only += "myeloid sample"
            if count_non_blood:
                return PatientStatus(
                    "negative", best, f"{only}; {COUNTED_BY_PLAN}; {WHY_NON_BLOOD}"
                )
            return PatientStatus("not_assessable", best, f"{only}; {WHY_NON_BLOOD}")
        reason = "negative in every sample" if len(samples) > 1 else ""
        return PatientStatus("negative", blood[0] if blood else best, reason)
    negative_in = "negative in " + ", ".join(_label(s) for s in negatives)
    if blood:
        # (a) decides; the unassessed samples are named so the reader sees they were set aside
        return PatientStatus("negative", blood[0], f"{negative_in}; {_unassessed(unassessed)}")
    shown = next((s for s in unassessed if s.status), None)
    return PatientStatus(
        "not_assessable", shown, f"{negative_in}; {_unassessed(unassessed)}; {WHY_BLOOD}"
    )


def describe_samples(samples: Sequence[SampleStatus]) -> str:
    """Each sample with its tissue and status: 'S1 (blood): not_assessable; S2 (buccal):
    negative' (the per-patient ``deciding_samples`` column)."""
    return "; ".join(
        f"{s.sample} ({s.tissue or 'tissue not given'}): {s.status or 'not genotyped'}"
        for s in samples
    )


def _label(sample: SampleStatus) -> str:
    return f"{sample.tissue} ({sample.sample})" if sample.tissue else sample.sample


def _unassessed(samples: Sequence[SampleStatus]) -> str:
    parts = []
    for s in samples:
        if s.status == NOT_GENOTYPED:
            parts.append(f"{_label(s)} not genotyped")
            continue
        why = s.note.split("; ")[0].strip()  # the first clause says why; the rest is detail
        parts.append(f"{_label(s)} not assessable" + (f" ({why})" if why else ""))
    return "; ".join(parts)
