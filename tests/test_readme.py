"""The README, walked as a newcomer walks it: every ```bash and ```python block runs, and the
numbers it quotes about the demo are the demo's.

Each command block runs in a fresh folder laid out like a clone (``tests``, ``scripts``,
``reference``, ``workflow`` and ``modules`` of this checkout), where the files the README
names are the demo's (``STAGED``; the few names the demo's files cannot take are replaced in
the command text, ``REPLACED``), with ``nlrp3annot`` on the PATH running this checkout. A
block must exit 0 (or the code a ``<!-- readme-test: exit N -->`` line right before it
names); a block that cannot run here (the internet, a cluster, a benchmark of an hour) says
why in a ``<!-- readme-test: skip REASON -->`` line right before it. A new block with
neither runs, so one that does not work fails here.

The demo's numbers the README quotes are found by their sentences (``README_NUMBERS``) and
read from the demo's own outputs: ``inputs/``, ``annotation/patients.tsv``, ``tables/*.tsv``
and ``report.html``.
"""

from __future__ import annotations

import csv
import gzip
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_transcript_choice import write_gencode_gtf, write_refseq_gff3

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COMMAND_LANGUAGES = {"bash", "python"}
OTHER_LANGUAGES = {"toml", "text"}  # a file's content, a command's output: not commands
MARK = re.compile(
    r"^\s*<!--\s*readme-test:\s*"
    r"(?:(?P<what>skip|exit)\s+(?P<arg>\S.*?)|(?P<output>output))\s*-->\s*$"
)
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\S*)\s*$")
CLONE_PARTS = ("tests", "scripts", "reference", "workflow", "modules")

# README name -> what the demo's results folder holds for it (copied into the block's folder).
# A folder name ends in "/"; a ".txt" list names the demo's VCFs, one a line.
STAGED = {
    "GRCh38.fa": "inputs/TEST_LOCUS_GRCh38_not_real_genome.fa.gz",  # with its .fai and .gzi
    "patient.vcf.gz": "inputs/vcf/P01-blood.vcf.gz",  # a germline R260W carrier
    "a.vcf.gz": "inputs/vcf/P01-blood.vcf.gz",
    "b.vcf.gz": "inputs/vcf/P16-blood.vcf.gz",
    "biobank_chr1.vcf.gz": "inputs/vcf/P09-blood.vcf.gz",
    "lab/": "inputs/vcf/",  # the lab's VCFs: the demo's 19
    "vcfs.txt": "inputs/vcf/",
    "exomes.txt": "inputs/vcf/",
    "response.xlsx": "inputs/response.xlsx",
    "samples.csv": "inputs/samples.csv",
    "patients.tsv": "annotation/patients.tsv",  # the Python block's genotypes
    "results/": "",  # the demo's results folder, for `report`
    "normals/": "inputs/reads/P17-amplicon.cram",  # P17's deep reads: no call there
    "P16-amplicon.cram": "inputs/reads/P16-amplicon.cram",
    "P17-amplicon.cram": "inputs/reads/P17-amplicon.cram",
}
# README text -> the command text run, where the demo's files cannot take the README's name.
REPLACED = {
    "pip install . && ": "",  # the package is this checkout, already importable
    "P16.bam": "P16-amplicon.cram",  # the demo's deep reads are CRAMs
    "P17.cram": "P17-amplicon.cram",
    "P21.bam": "P16-amplicon.cram",
    "normals/*.bam": "normals/*.cram",
    "other.vcf.gz": "lab/*.vcf.gz",
}


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    skip: str | None
    exit_code: int
    output: bool = False  # the terminal output of the command block before it


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of the README, with the readme-test line right before it."""
    lines = text.splitlines()
    blocks: list[Block] = []
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if not opening:
            number += 1
            continue
        indent, language = opening["indent"], opening["lang"]
        end = number + 1
        while lines[end].strip() != "```":
            end += 1
        code = "\n".join(line.removeprefix(indent) for line in lines[number + 1 : end])
        mark = MARK.match(lines[number - 1]) if number else None
        blocks.append(
            Block(
                line=number + 1,
                language=language,
                code=code + "\n",
                skip=mark["arg"] if mark and mark["what"] == "skip" else None,
                exit_code=int(mark["arg"]) if mark and mark["what"] == "exit" else 0,
                output=bool(mark and mark["output"]),
            )
        )
        number = end + 1
    return blocks


BLOCKS = readme_blocks(README.read_text())
COMMAND_BLOCKS = [b for b in BLOCKS if b.language in COMMAND_LANGUAGES]
# the output the README shows for a command block: the ```text block marked output after it
SHOWN_OUTPUT = {
    before.line: after.code
    for before, after in zip(BLOCKS, BLOCKS[1:], strict=False)
    if after.output and before.language in COMMAND_LANGUAGES
}


def test_every_block_says_what_it_is():
    """A fence without a known language would escape the runs below."""
    unknown = [(b.line, b.language) for b in BLOCKS if b.language not in COMMAND_LANGUAGES]
    assert {lang for _, lang in unknown} <= OTHER_LANGUAGES, unknown
    marks = [
        n for n, line in enumerate(README.read_text().splitlines(), 1) if "readme-test" in line
    ]
    fenced = {b.line - 1 for b in BLOCKS}
    assert set(marks) <= fenced, f"a readme-test line not right before a block: lines {marks}"
    outputs = [b.line for b in BLOCKS if b.output]
    assert len(outputs) == len(SHOWN_OUTPUT), f"an output block not after a command: {outputs}"
    for line in README.read_text().splitlines():
        if "readme-test" in line:
            assert MARK.match(line), f"not a readme-test line: {line!r}"


def test_the_substitutions_are_used():
    """The mapping stays true to the README: each name it stages or replaces is in a block
    that runs."""
    runnable = "".join(b.code for b in COMMAND_BLOCKS if b.skip is None)
    for readme_text in REPLACED:
        assert readme_text in runnable, readme_text
    replaced = runnable
    for readme_text, text in REPLACED.items():
        replaced = replaced.replace(readme_text, text)
    for name in STAGED:
        assert name in replaced, name


def stage(demo: Path, folder: Path) -> None:
    """The block's folder: a clone's parts and the demo's files under the README's names."""
    for part in CLONE_PARTS:
        (folder / part).symlink_to(ROOT / part)
    demo_vcfs = sorted((demo / "inputs/vcf").glob("*.vcf.gz"))
    for name, source in STAGED.items():
        target, origin = folder / name, demo / source
        if name == "results/":
            shutil.copytree(demo, target, ignore=shutil.ignore_patterns("inputs", ".*"))
        elif name.endswith("/") and origin.is_dir():
            shutil.copytree(origin, target)
        elif name.endswith("/"):
            target.mkdir()
            for extra in ("", ".crai"):
                shutil.copy(f"{origin}{extra}", target / f"{origin.name}{extra}")
        elif name.endswith(".txt"):
            target.write_text("".join(f"{path}\n" for path in demo_vcfs))
        else:
            for extra in ("", ".tbi", ".crai", ".fai", ".gzi"):
                if Path(f"{origin}{extra}").exists():
                    shutil.copy(f"{origin}{extra}", f"{target}{extra}")
    # The transcript files the README names, made for the test locus (RefSeq's and GENCODE's
    # layouts, as tests/test_transcript_choice.py writes them).
    for name, write in (
        ("GCF_000001405.40_GRCh38.p14_genomic.gff.gz", write_refseq_gff3),
        ("gencode.v44.annotation.gtf.gz", write_gencode_gtf),
    ):
        plain = write(folder / "plain")
        (folder / name).write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    # The laboratory profile the report examples give.
    shutil.copy(ROOT / "reference/lab_profile.example.toml", folder / "lab.toml")


def environment(folder: Path) -> dict[str, str]:
    """`nlrp3annot` on the PATH runs this checkout, with this Python."""
    bin_dir = folder / ".bin"
    bin_dir.mkdir()
    shim = bin_dir / "nlrp3annot"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nlrp3annot "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("NO_COLOR", None)
    return env


@pytest.mark.parametrize("block", COMMAND_BLOCKS, ids=[f"line{b.line}" for b in COMMAND_BLOCKS])
def test_readme_block_runs(block: Block, demo: Path, tmp_path: Path):
    if block.skip:
        pytest.skip(f"README line {block.line}: {block.skip}")
    code = block.code
    for readme_text, text in REPLACED.items():
        code = code.replace(readme_text, text)
    stage(demo, tmp_path)
    command = (
        ["bash", "-e", "-o", "pipefail", "-c", code]
        if block.language == "bash"
        else [sys.executable, "-c", code]
    )
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, in the order a terminal shows it
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == block.exit_code, (
        f"README line {block.line} exited {done.returncode}:\n{code}\noutput: {done.stdout[-3000:]}"
    )
    if block.line in SHOWN_OUTPUT:
        assert_output_as_shown(SHOWN_OUTPUT[block.line], done.stdout, block.line)


def assert_output_as_shown(shown: str, printed: str, line: int) -> None:
    """The README's copy of a command's output, line for line; its `...` stands for any
    text (a long list, a path's tail)."""
    shown_lines, printed_lines = shown.splitlines(), printed.splitlines()
    assert len(shown_lines) == len(printed_lines), (
        f"README line {line} shows {len(shown_lines)} lines of output, the command printed "
        f"{len(printed_lines)}:\n{printed}"
    )
    for expected, got in zip(shown_lines, printed_lines, strict=True):
        pattern = ".*".join(re.escape(part) for part in expected.split("..."))
        assert re.fullmatch(pattern, got), f"README line {line} shows\n{expected}\nprinted\n{got}"


# ---- the numbers the README quotes about the demo ----------------------------------------


def readme_text() -> str:
    """The README as one line of words (sentences wrap across lines)."""
    return re.sub(r"\s+", " ", README.read_text())


def quoted(pattern: str) -> re.Match:
    found = re.search(pattern, readme_text())
    assert found, f"the README no longer says: {pattern}"
    return found


def tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def report_words(demo: Path) -> str:
    page = (demo / "report.html").read_text()
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def percent(fraction: float, digits: int = 1) -> str:
    return f"{100 * fraction:.{digits}f}"


def significant(value: float, digits: int = 3) -> str:
    """A number to 3 significant digits, as the report writes estimates."""
    return f"{value:.{digits - 1 - math.floor(math.log10(abs(value)))}f}"


def test_the_first_screen_cohort_is_the_demos(demo: Path):
    """The first screen's cohort: "a synthetic cohort of 18 NOMID patients ... scan 2
    CRAMs ... annotate 19 VCFs", as the demo's inputs hold it."""
    found = quoted(
        r"a \*\*synthetic\*\* cohort of (\d+) (\w+) patients on a \*\*test\*\* genome: "
        r"scan (\d+) CRAMs of deep reads for mosaics, annotate (\d+) VCFs"
    )
    sheet = list(csv.DictReader((demo / "inputs/samples.csv").open()))
    assert int(found[1]) == len({row["patient_id"] for row in sheet})
    assert {found[2]} == {row["diagnosis"] for row in sheet}
    assert int(found[3]) == len(list((demo / "inputs/reads").glob("*.cram")))
    assert int(found[4]) == len(list((demo / "inputs/vcf").glob("*.vcf.gz")))
    registry = quoted(r"builds a registry cohort from the demo's (\d+) patients")
    assert int(registry[1]) == int(found[1])
    assert json.loads((demo / "summary.json").read_text())["synthetic"] is True


def test_p16_mosaic_is_the_scans(demo: Path):
    """P16 as the README tells it: "negative by the old assay and in its VCF; its deep reads
    show p.Gly569Arg ("mosaic at N% from the scan of the reads", tables/patients.tsv), so the
    patient is compared as mutation-positive"."""
    found = quoted(
        r"The demo's P16 is negative by the old assay and in its VCF; its deep reads show "
        r'(p\.[A-Za-z]+\d+[A-Za-z]+) \("(mosaic at ([\d.]+)% from the scan of the reads)", '
        r"`tables/patients.tsv`\), so the patient is compared as ([\w-]+)"
    )
    sheet = [r for r in csv.DictReader((demo / "inputs/samples.csv").open())]
    assert {r["old_assay"] for r in sheet if r["patient_id"] == "P16"} == {"negative"}
    samples = {row["sample"]: row for row in tsv(demo / "annotation/patients.tsv")}
    assert samples["P16-blood"]["status"] == "negative"
    scanned = samples["P16-amplicon"]
    assert scanned["status"] == "positive_mosaic"
    assert scanned["hgvs_p_sample"].split(":")[-1] == found[1]
    assert found[3] == percent(float(scanned["vaf"]))
    patient = next(r for r in tsv(demo / "tables/patients.tsv") if r["patient_id"] == "P16")
    assert found[2] in patient["confirm"]
    assert found[4].replace("-", "_") == patient["group"]


def test_the_study_sentence_is_the_reports(demo: Path):
    """The first screen's study sentence the README quotes is on the demo's report, and its
    numbers are those of tables/study_endpoints.tsv."""
    found = quoted(
        r'the demo: "(SAA, baseline to month 3, all (\d+) patients: improved \(([\d.]+) to '
        r"([\d.]+)% of baseline; Hodges-Lehmann ratio, 95% CI > ([\d.]+)% to ([\d.]+)%; "
        r"unadjusted P = ([\d.e-]+), [^;]+; adjusted P = ([\d.e-]+), Holm adjustment over "
        r'(\d+) tests\))"'
    )
    # the report puts a space before the colon (an element ends there); words are the same
    assert found[1].replace(": ", " ") in report_words(demo).replace(" : ", " ")
    row = next(
        r
        for r in tsv(demo / "tables/study_endpoints.tsv")
        if r["endpoint"] == "all patients: SAA baseline->month3"
    )
    low, high = (float(x) for x in row["estimate"].split(" to "))
    assert (found[3], found[4]) == (significant(100 * low), significant(100 * high))
    assert found[5] == significant(100 * float(row["ci_lower"]))
    assert found[6] == significant(100 * float(row["ci_upper"]))
    assert found[7] == f"{float(row['p']):.1e}"
    assert found[8] == f"{float(row['p_adjusted']):.1e}"
    assert int(found[2]) == int(row["n1"])
    family = [r for r in tsv(demo / "tables/study_endpoints.tsv") if r["role"] == "primary"]
    assert int(found[9]) == len(family)


def test_the_genotype_sentence_is_the_reports(demo: Path):
    """The genotype comparison's sentence the README quotes is on the demo's report, with
    tables/genotype_endpoints.tsv's ratio of ratios, interval, P and group sizes."""
    found = quoted(
        r'sentence per end point \(the demo: "(From baseline to month 3, SAA went to [^"]*'
        r'not adjusted for multiplicity\.)"'
    )
    sentence = found[1]
    assert sentence in report_words(demo)
    row = next(
        r
        for r in tsv(demo / "tables/genotype_endpoints.tsv")
        if r["endpoint"] == "SAA baseline->month3"
    )
    assert f"(n={row['n1']}) in mutation-positive" in sentence
    assert f"(n={row['n2']}) in mutation-negative" in sentence
    assert f"ratio of ratios {row['estimate']} (95% CI {row['ci_text']};" in sentence
    assert f"unadjusted P = {float(row['p']):.1g}," in sentence


def test_the_clopper_pearson_example_is_arithmetic():
    """The evidence example "41 of 907 reads, 4.5% (95% CI 3.3-6.1%)": the interval from
    scipy, not from us."""
    from scipy.stats import binomtest

    found = quoted(r"(\d+) of (\d+) reads, ([\d.]+)% \(95% CI ([\d.]+)-([\d.]+)%\)")
    alt, depth = int(found[1]), int(found[2])
    interval = binomtest(alt, depth).proportion_ci(method="exact")
    assert found[3] == percent(alt / depth)
    assert (found[4], found[5]) == (percent(interval.low), percent(interval.high))
