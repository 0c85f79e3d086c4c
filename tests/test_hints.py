"""Errors that say what to do, and messages that do not mislead (issue 27): a partly
genotyped cohort (which IDs matched, which did not, and ``--genotyped-only``), transcripts
asked for but not fetched, and the results folder of a run that failed or finished."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_FASTA, compare_args, write_vcf

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.response.tables.cohort import join

FASTA = str(TEST_FASTA["GRCh38"])
PATIENTS = [f"P{i:02d}" for i in range(1, 19)]  # an 18-patient workbook
GENOTYPED = ["P01", "P03", "P07"]  # the 3 a lab sequenced, IDs exactly as in the workbook


def _measured(patients: list[str]) -> pd.DataFrame:
    """A baseline and a month-3 SAA of each patient (values: any, the join does not read
    them)."""
    return pd.DataFrame(
        [
            {"patient_id": p, "visit": visit, "day": day, "measure": "saa", "value": 5.0,
             "unit": "mg/L", "censored": ""}
            for p in patients
            for visit, day in (("baseline", 0), ("month3", 90))
        ]
    )  # fmt: skip


def _genotypes(samples: list[str], status: str = "positive_germline") -> pd.DataFrame:
    return pd.DataFrame([{"file": "a.vcf", "sample": s, "status": status} for s in samples])


def _sheet(patients: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{"patient_id": p, "sample_id": f"{p}-blood"} for p in patients])


def test_a_partly_genotyped_cohort_names_who_matched_and_offers_the_flag():
    """3 of 18 genotyped, IDs identical: the line names the 3 that matched and some that did
    not, offers --genotyped-only, and does not claim the IDs differ in case or spaces."""
    genotypes = _genotypes([f"{p}-blood" for p in GENOTYPED])
    with pytest.raises(Nlrp3AnnotError) as error:
        join(genotypes, _sheet(PATIENTS), _measured(PATIENTS))
    text = str(error.value)
    assert "only 3 of 18 clinical patients have a genotype (P01, P03, P07)" in text
    assert "without one: P02, P04, P05 and 12 more" in text  # 18 - 3 = 15 = 3 shown + 12
    assert "--genotyped-only" in text
    assert "case" not in text and "(none)" not in text
    assert "\n" not in text


def test_ids_that_differ_in_case_get_that_hint_and_only_then():
    """The clinical table writes p02..p18 where the sheet has P02..P18: the comparison that
    sets case aside finds them, so the hint is the case one, naming a pair."""
    genotypes = _genotypes([f"{p}-blood" for p in PATIENTS])
    clinical = ["P01", *(p.lower() for p in PATIENTS[1:])]
    with pytest.raises(Nlrp3AnnotError) as error:
        join(genotypes, _sheet(PATIENTS), _measured(clinical))
    text = str(error.value)
    assert "only 1 of 18 clinical patients have a genotype (P01)" in text
    assert "clinical 'p02' and genotype patient 'P02' differ in case or spaces" in text
    assert "--genotyped-only" not in text


def test_genotyped_only_compares_the_genotyped_and_lists_the_others():
    genotypes = _genotypes([f"{p}-blood" for p in GENOTYPED])
    cohort = join(genotypes, _sheet(PATIENTS), _measured(PATIENTS), genotyped_only=True)
    groups = cohort.groups.set_index("patient_id")
    assert sorted(groups.index[groups["group"] == "mutation_positive"]) == GENOTYPED
    others = groups.drop(index=GENOTYPED)
    assert len(others) == 15 and set(others["group"]) == {"no_genotype"}
    assert all("--genotyped-only" in r for r in others["status_reason"])
    accounting = cohort.accounting.set_index("patient_id")
    assert not accounting.loc["P02", "in_comparison"]
    assert "not genotyped" in accounting.loc["P02", "note"]
    assert accounting.loc["P01", "in_comparison"]


def _cohort_files(tmp: Path) -> tuple[Path, Path, Path]:
    genotypes = tmp / "patients.tsv"
    genotypes.write_text(
        "file\tsample\tstatus\n"
        + "".join(f"a.vcf\t{p}-blood\tpositive_germline\n" for p in GENOTYPED)
    )
    clinical = tmp / "response.csv"
    clinical.write_text(
        "patient_id,visit,day,measure,value,unit\n"
        + "".join(
            f"{p},{visit},{day},CRP,{5 + i},mg/L\n"
            for i, p in enumerate(PATIENTS)
            for visit, day in (("baseline", 0), ("month3", 90))
        )
    )
    samples = tmp / "samples.csv"
    samples.write_text("patient_id,sample_id\n" + "".join(f"{p},{p}-blood\n" for p in PATIENTS))
    return genotypes, clinical, samples


def _nlrp3annot(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def test_compare_of_a_partly_genotyped_cohort_stops_then_runs_with_the_flag(tmp_path: Path):
    out = tmp_path / "results"
    proc = _nlrp3annot(*compare_args(*_cohort_files(tmp_path), out), "-q")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--genotyped-only" in proc.stderr
    assert not out.exists()  # the failed run left no folder (and no lock file in one)
    proc = _nlrp3annot(*compare_args(*_cohort_files(tmp_path), out), "--genotyped-only")
    assert proc.returncode == 0, proc.stderr
    assert "--genotyped-only: 15 of 18 clinical patients have no genotype" in proc.stderr
    inclusion = pd.read_csv(out / "tables" / "inclusion.tsv", sep="\t")
    left_out = inclusion[inclusion["group"] == "no_genotype"]
    assert sorted(left_out["patient_id"].unique()) == sorted(set(PATIENTS) - set(GENOTYPED))
    assert left_out["reason"].str.contains("not genotyped").all()
    assert not (out / ".nlrp3annot.lock").exists()  # a finished folder keeps no lock


@pytest.mark.parametrize("command", ["compare", "run"])
def test_help_documents_genotyped_only(command: str):
    proc = _nlrp3annot(command, "--help")
    assert "--genotyped-only" in proc.stdout


def test_transcripts_not_fetched_say_how_to_get_them(tmp_path: Path):
    """Without `reference fetch --transcripts all` (an empty cache) and without --gff, only
    the bundled MANE model is there: asking for all, or for NM_004895.4, is one line with
    the command that gets them, not a quiet MANE-only table."""
    vcf = write_vcf(tmp_path / "p.vcf", [("chr1", 247424227, "C", "T")])
    env = {**os.environ, "NLRP3ANNOT_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "t.tsv"
    every = _nlrp3annot("annotate", str(vcf), "--fasta", FASTA, "--transcripts", "all",
                        "-o", str(out), env=env)  # fmt: skip
    assert every.returncode == 2 and not out.exists()
    assert every.stderr.strip().splitlines() == [
        "nlrp3annot: error: --transcripts all: the NLRP3 transcripts other than MANE "
        "NM_001243133.2 are not fetched for GRCh38; run 'nlrp3annot reference fetch --build "
        "GRCh38 --transcripts all --no-sequence' once, or give a RefSeq/Ensembl GFF3 or GTF "
        "with --gff (or leave --transcripts out for MANE only)"
    ]
    lrg = _nlrp3annot("annotate", str(vcf), "--fasta", FASTA, "--transcripts", "NM_004895.4",
                      "-o", str(out), env=env)  # fmt: skip
    assert lrg.returncode == 2 and len(lrg.stderr.strip().splitlines()) == 1
    assert "--transcripts NM_004895.4: only MANE NM_001243133.2 is bundled" in lrg.stderr
    assert "--gff" in lrg.stderr and "reference fetch" in lrg.stderr
    mane = _nlrp3annot("annotate", str(vcf), "--fasta", FASTA, "--transcripts",
                       "NM_001243133.2", "-o", str(out), "-q", env=env)  # fmt: skip
    assert mane.returncode == 0, mane.stderr  # MANE itself needs nothing fetched
