"""The workflow-manager wrappers: the Snakemake workflow (workflow/Snakefile) writes the
results folder `nlrp3annot run` writes on the same inputs, file by file, and the nf-core
style Nextflow module (modules/nlrp3annot/annotate) is well formed and builds a command line
the real CLI accepts.

The expected folder is `nlrp3annot run`'s on the demo's files (found here from the samples
sheet and the demo folder, not through the Snakefile's lookup), never pasted output.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from nlrp3annot import __version__
from nlrp3annot.errors import InputFileError
from nlrp3annot.io.gather import concatenate_tsv

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "nlrp3annot" / "demo"
FASTA = DEMO / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
SNAKEFILE = ROOT / "workflow" / "Snakefile"
CONFIG = ROOT / "workflow" / "config.yaml"
MODULE = ROOT / "modules" / "nlrp3annot" / "annotate"
# The reproducible-builds convention the tool follows (report, pages, Phenopackets, the
# figures' SVG metadata): the two ways write the same dates, so none needs normalising.
EPOCH = "1767225600"  # 2026-01-01 00:00 UTC


def _env() -> dict[str, str]:
    """This checkout's nlrp3annot for the tool and for Snakemake's own Python, and the
    `nlrp3annot` command of this interpreter first on the PATH (the rules call it)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env["SOURCE_DATE_EPOCH"] = EPOCH
    return env


def _tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args], capture_output=True, text=True, env=_env()
    )


def _snakemake_command(*args: str, directory: Path) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile",
            str(CONFIG), "--cores", "2", "--directory", str(directory), *args]  # fmt: skip


def _snakemake(*args: str, directory: Path) -> subprocess.CompletedProcess:
    command = _snakemake_command(*args, directory=directory)
    return subprocess.run(command, capture_output=True, text=True, env=_env())


def _needs_snakemake() -> None:
    pytest.importorskip("snakemake", reason="snakemake is not installed (pip install snakemake)")
    if shutil.which("nlrp3annot", path=_env()["PATH"]) is None:
        pytest.skip("no `nlrp3annot` command on the PATH for the workflow's rules (pip install .)")


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _demo_inputs() -> list[Path]:
    """The demo's input of each sample of its sheet, as a user would give them to `run`:
    the VCFs in sheet order, then the BAM/CRAMs (run scans those and annotates them last)."""
    sheet = pd.read_csv(DEMO / "samples.csv", dtype=str)
    vcfs = [DEMO / "vcf" / f"{s}.vcf.gz" for s in sheet["sample_id"]]
    reads = [DEMO / "reads" / f"{s}.cram" for s in sheet["sample_id"]]
    return [p for p in vcfs if p.is_file()] + [p for p in reads if p.is_file()]


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory) -> tuple[Path, Path]:
    """(the Snakemake workflow's working directory, `nlrp3annot run`'s results folder)."""
    _needs_snakemake()
    base = tmp_path_factory.mktemp("workflow")
    workdir = base / "snakemake"
    run = [sys.executable, "-m", "nlrp3annot", "run", *map(str, _demo_inputs()),
           "--fasta", str(FASTA), "--clinical", str(DEMO / "response.xlsx"),
           "--samples", str(DEMO / "samples.csv"), "--jobs", "2", "-o", str(base / "run"),
           "-q"]  # fmt: skip
    # the two at once (each is mostly one core at a time); output to files: no pipe to fill
    jobs = []
    for name, command in (("snakemake", _snakemake_command(directory=workdir)), ("run", run)):
        log = base / f"{name}.log"
        with log.open("w") as handle:
            jobs.append((log, subprocess.Popen(command, stdout=handle, stderr=handle, env=_env())))
    for log, job in jobs:
        assert job.wait() == 0, log.read_text()[-4000:]
    return workdir, base / "run"


# What may differ between the two folders, and nothing else (each is replaced by a mark):
#   1. the command line each recorded: run.json's and summary.json's provenance `command`
#      (one `nlrp3annot run` against the workflow's `nlrp3annot compare --annotations`);
#   2. run.json's `finished`, the time the set was written (SOURCE_DATE_EPOCH fixes every
#      other date and time: the report's, the pages', the Phenopackets', the figures');
#   3. the 8-digit digest of a patient page's report ID (NLRP3-P16-1AFF0465), a run ID made
#      from what the page states and the command line (delivery.patient_report.report_id);
#   4. run.json's SHA-256 of each file, checked against the file and then replaced by the
#      SHA-256 of the file with 1-3 replaced.
# No absolute path and no duration differs: the workflow reads the demo by the absolute
# paths `run` is given here, and neither folder records a duration.
REPORT_ID = re.compile(rb"(NLRP3-[A-Za-z0-9_.-]+-)[0-9A-F]{8}\b")


def _normalised(folder: Path, name: str) -> bytes:
    data = (folder / name).read_bytes()
    if name == "run.json":
        manifest = json.loads(data)
        assert manifest.pop("finished") and manifest.pop("command")
        for file, digest in manifest["files"].items():
            assert hashlib.sha256((folder / file).read_bytes()).hexdigest() == digest, file
            manifest["files"][file] = hashlib.sha256(_normalised(folder, file)).hexdigest()
        return json.dumps(manifest, indent=1).encode()
    if name == "summary.json":
        summary = json.loads(data)
        assert summary["provenance"].pop("command")[:2] in (
            ["nlrp3annot", "run"], ["nlrp3annot", "compare"],
        )  # fmt: skip
        return json.dumps(summary, indent=1).encode()
    if name.startswith("patients/") and name.endswith(".html"):
        return REPORT_ID.sub(rb"\1<digest>", data)
    return data


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_workflow_results_folder_is_runs(both_ways):
    """The acceptance test of issue 27: the same files, byte for byte but for 1-4 above."""
    workdir, run = both_ways
    results = workdir / "results"
    assert _files(results) == _files(run)
    differing = [n for n in _files(run) if (run / n).read_bytes() != (results / n).read_bytes()]
    # only the files that record a command line or a time may differ at all
    assert set(differing) <= {"run.json", "summary.json"} | {
        n for n in differing if n.startswith("patients/P") and n.endswith(".html")
    }  # fmt: skip
    for name in _files(run):
        assert _normalised(results, name) == _normalised(run, name), name


def test_workflow_results_hold_pages_packets_and_the_test_genome_label(both_ways):
    """What the workflow's results lacked before: the patient pages, the Phenopackets and
    the report's label of the test sequence (summary.json's genotyping)."""
    workdir, _ = both_ways
    results = workdir / "results"
    patients = sorted(pd.read_csv(DEMO / "samples.csv", dtype=str)["patient_id"].unique())
    assert sorted(p.stem for p in (results / "patients").glob("*.html")) == patients
    packets = sorted(p.name for p in (results / "phenopackets").glob("*.json"))
    assert packets == [f"{p}.phenopacket.json" for p in patients]
    summary = json.loads((results / "summary.json").read_text())
    assert summary["genotyping"]["test_locus"] is True
    assert summary["genotyping"]["fasta"] == FASTA.name and summary["genotyping"]["min_depth"] == 20
    assert "<strong>TEST GENOME</strong>" in (results / "report.html").read_text()
    # the gathered annotation names the scanned reads as run does, inside the folder
    files = set(_table(results / "annotation" / "patients.tsv")["file"])
    assert "annotation/scan/P16-amplicon.scan.vcf.gz" in files
    assert str(DEMO / "vcf" / "P01-blood.vcf.gz") in files


def test_workflow_scans_the_reads_together_as_run(both_ways):
    """One scan job over every BAM/CRAM: each sample's background is the others', as in run."""
    workdir, run = both_ways
    got = _table(workdir / "annotation" / "scan" / "scan.tsv")
    assert set(got["sample"]) == {"P16-amplicon", "P17-amplicon"}
    called = got[(got["sample"] == "P16-amplicon") & (got["verdict"] == "called")]
    assert list(called["hgvs_p"]) == ["NP_001230062.1:p.Gly569Arg"]  # the README's mosaic


def test_workflow_logs_and_threads(both_ways):
    workdir, _ = both_ways
    logs = workdir / "logs"
    assert (logs / "scan.log").is_file() and (logs / "compare.log").is_file()
    sheet = pd.read_csv(DEMO / "samples.csv", dtype=str)
    assert sorted(p.stem for p in (logs / "annotate").glob("*.log")) == sorted(sheet["sample_id"])
    assert "mutation_positive" in (logs / "compare.log").read_text()
    # the one-job target plans `nlrp3annot run` over every sample's input, threads as --jobs
    proc = _snakemake("-n", "-p", "nlrp3annot_run", directory=workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    command = next(line for line in proc.stdout.splitlines() if "nlrp3annot run " in line)
    assert "--jobs 2" in command
    assert command.count(".vcf.gz ") == len(list(DEMO.glob("vcf/*.vcf.gz")))
    assert command.count(".cram ") == len(list(DEMO.glob("reads/*.cram")))


def test_workflow_sample_without_input_is_refused(tmp_path):
    _needs_snakemake()
    proc = _snakemake("-n", "--config", "vcf=nowhere/{sample}.vcf.gz", directory=tmp_path)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    with_reads = len(list(DEMO.glob("reads/*.cram")))  # still found: only `vcf` is changed
    missing = len(pd.read_csv(DEMO / "samples.csv")) - with_reads
    assert f"{missing} sample(s)" in text and "have no input file" in text
    assert "P01-blood" in text and "nowhere/{sample}.vcf.gz" in text


# --- compare --annotations: the gathering, on tables written by hand ----------------------


def test_gathered_tables_keep_rows_and_widen_a_narrow_header(tmp_path):
    """A sample without calls has a table without the sample columns; gathered, its header
    gives way to the widest and any row of it gets empty cells there. A quoted cell (a tab
    inside) stays as csv writes it."""
    wide, narrow, out = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "all.tsv"
    wide.write_text('file\tpos\tsample\tnote\na.vcf\t1\tS1\t"x\ty"\na.vcf\t2\tS1\t\n')
    narrow.write_text("file\tpos\tnote\nb.vcf\t3\tz\n")
    concatenate_tsv([narrow, wide], out)
    assert out.read_text() == (
        'file\tpos\tsample\tnote\nb.vcf\t3\t\tz\na.vcf\t1\tS1\t"x\ty"\na.vcf\t2\tS1\t\n'
    )
    other = tmp_path / "c.tsv"
    other.write_text("file\tchrom\nc.vcf\tchr1\n")
    with pytest.raises(InputFileError, match="c.tsv: its columns are not those of"):
        concatenate_tsv([wide, other], out)


def test_compare_run_options_need_annotations(tmp_path):
    proc = _tool("compare", "--genotypes", "g.tsv", "--clinical", "c.csv", "--samples",
                 "s.csv", "-o", str(tmp_path / "out"), "--fasta", str(FASTA))  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "nlrp3annot: error: --fasta: only with --annotations (the calls tables of annotate, "
        "from which compare writes run's results folder)"
    ]
    assert not (tmp_path / "out").exists()


# --- the Nextflow module -------------------------------------------------------------------
# Nextflow cannot be installed on this machine (no network beyond the Python and Debian
# package registries), so these tests check the module as text: its Groovy is balanced, the
# nf-core elements are there, every option its command line gives is one that
# `nlrp3annot annotate --help` lists, and the script block, rendered as Nextflow would
# render it, runs on the demo. test_nextflow_lint runs the real `nextflow lint` where
# Nextflow is installed.


def _groovy_problems(text: str) -> list[str]:
    """Unbalanced brackets outside strings, strings left open, `${` left open."""
    problems: list[str] = []
    stack: list[tuple[str, int]] = []
    pairs = {"}": "{", ")": "(", "]": "["}
    i, line = 0, 1
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line += 1
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        quote = '"""' if text.startswith('"""', i) else ch if ch in "\"'" else None
        if quote:
            start, i = line, i + len(quote)
            depth = 0
            while i < len(text) and not (depth == 0 and text.startswith(quote, i)):
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                    if quote != '"""':
                        problems.append(f"line {start}: string {quote} not closed on its line")
                        break
                elif quote != "'" and text.startswith("${", i):
                    depth += 1
                    i += 1
                elif text[i] == "}" and depth:
                    depth -= 1
                i += 1
            if i >= len(text):
                problems.append(f"line {start}: string {quote} never closed")
            if depth:
                problems.append(f"line {start}: ${{ not closed in a string")
            i += len(quote)
            continue
        if ch in "{([":
            stack.append((ch, line))
        elif ch in "})]":
            if not stack or stack[-1][0] != pairs[ch]:
                problems.append(f"line {line}: {ch} closes nothing open")
            else:
                stack.pop()
        i += 1
    problems += [f"line {n}: {ch} never closed" for ch, n in stack]
    return problems


def _block(text: str, start: str, end: str | None) -> str:
    """The triple-quoted shell string of a process's script: or stub: section."""
    section = text.split(start, 1)[1]
    if end:
        section = section.split(end, 1)[0]
    return section.split('"""')[1]


def _render(script: str, values: dict[str, str]) -> str:
    """The shell script Nextflow would run: ${...} filled in, Groovy escapes undone, the
    common indentation removed."""

    def fill(match: re.Match) -> str:
        return values[match.group(1)]

    text = re.sub(r"(?<!\\)\$\{([^}]+)\}", fill, script)
    return textwrap.dedent(text.replace("\\\\", "\\").replace("\\$", "$"))


def _options(text: str) -> set[str]:
    """The -x / --long-option words of a command line or a --help text."""
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))


def _annotate_options() -> set[str]:
    proc = _tool("annotate", "--help")
    assert proc.returncode == 0, proc.stderr
    return _options(proc.stdout)


def test_nextflow_module_is_balanced_and_nf_core_shaped():
    text = (MODULE / "main.nf").read_text()
    assert _groovy_problems(text) == []
    assert _groovy_problems('x { "a ${b" }') != []  # (the checker finds what it should)
    for element in (
        "process NLRP3ANNOT_ANNOTATE {",
        'tag "$meta.id"',
        "label 'process_single'",
        "tuple val(meta), path(vcf), path(tbi)",
        "tuple val(meta2), path(fasta), path(fai), path(gzi)",
        'tuple val(meta), path("*.calls.tsv")   , emit: calls',
        'tuple val(meta), path("*.patients.tsv"), emit: patients',
        'tuple val(meta), path("*.skipped.tsv") , emit: skipped',
        'path "versions.yml"                    , emit: versions',
        "task.ext.when == null || task.ext.when",
        "def args   = task.ext.args ?: ''",
        'def prefix = task.ext.prefix ?: "${meta.id}"',
        "--jobs ${task.cpus}",
        "nlrp3annot: \\$(nlrp3annot --version 2>&1 | sed 's/^nlrp3annot //')",
    ):
        assert element in text, element
    order = [text.index(f"\n    {s}:\n") for s in ("input", "output", "when", "script", "stub")]
    assert order == sorted(order)


def test_nextflow_module_options_are_the_clis():
    text = (MODULE / "main.nf").read_text()
    script = _block(text, "\n    script:\n", "\n    stub:\n")
    command = script.split("nlrp3annot annotate", 1)[1].split("\n\n", 1)[0]
    command = command.replace("\\\\\n", " ")  # Groovy's \\ + newline: a shell continuation
    used = _options(command)
    assert {"--fasta", "--jobs", "--output", "--patients", "--skipped"} <= used
    assert used <= _annotate_options(), used - _annotate_options()
    # the placeholders are the declared inputs, the task's cpus, the prefix and ext.args
    assert set(re.findall(r"\$\{([^}]+)\}", command)) == {
        "vcf", "fasta", "task.cpus", "prefix", "args",
    }  # fmt: skip
    assert "--version" in _options(_tool("--help").stdout)  # versions.yml's command


def test_nextflow_module_script_runs_as_rendered(tmp_path):
    """The script and stub blocks, filled in as Nextflow would for the demo's P09-blood,
    write the outputs the output: globs take and a versions.yml naming this version."""
    yaml = pytest.importorskip("yaml")
    text = (MODULE / "main.nf").read_text()
    vcf = DEMO / "vcf" / "P09-blood.vcf.gz"
    for block, end in (("script", "stub"), ("stub", None)):
        work = tmp_path / block
        work.mkdir()
        for path in (vcf, Path(f"{vcf}.tbi"), FASTA, *FASTA.parent.glob(f"{FASTA.name}.*")):
            (work / path.name).symlink_to(path)  # staged inputs, as Nextflow does
        values = {
            "vcf": vcf.name, "fasta": FASTA.name, "task.cpus": "1", "prefix": "P09-blood",
            "args": "--min-depth 20", "task.process": "NLRP3ANNOT_ANNOTATE",
        }  # fmt: skip
        shell = _render(_block(text, f"\n    {block}:\n", end and f"\n    {end}:\n"), values)
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", shell], cwd=work, capture_output=True,
            text=True, env=_env(),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        # the skipped list named as `compare --annotations` finds it beside the calls
        names = {"*.calls.tsv": "P09-blood.calls.tsv", "*.patients.tsv": "P09-blood.patients.tsv",
                 "*.skipped.tsv": "P09-blood.calls.skipped.tsv"}  # fmt: skip
        for glob, name in names.items():
            assert [p.name for p in work.glob(glob)] == [name]
        versions = yaml.safe_load((work / "versions.yml").read_text())
        assert versions == {"NLRP3ANNOT_ANNOTATE": {"nlrp3annot": __version__}}
    patients = _table(tmp_path / "script" / "P09-blood.patients.tsv")
    assert list(patients["status"]) == ["positive_mosaic"]


def test_nextflow_meta_yml_matches_main_nf():
    yaml = pytest.importorskip("yaml")
    meta = yaml.safe_load((MODULE / "meta.yml").read_text())
    text = (MODULE / "main.nf").read_text()
    assert meta["name"] == "nlrp3annot_annotate" and "nlrp3annot" in meta["tools"][0]
    inputs = [[next(iter(item)) for item in channel] for channel in meta["input"]]
    assert inputs == [["meta", "vcf", "tbi"], ["meta2", "fasta", "fai", "gzi"]]
    for channel in inputs:
        names = ", ".join(f"val({n})" if n.startswith("meta") else f"path({n})" for n in channel)
        assert f"tuple {names}" in text
    outputs = {next(iter(o)): o[next(iter(o))] for o in meta["output"]}
    assert list(outputs) == re.findall(r"emit: (\w+)", text)
    for emit, items in outputs.items():
        pattern = next(k for item in items for k in item if k != "meta")
        assert f'"{pattern}"' in text, (emit, pattern)


def test_nextflow_lint():
    if shutil.which("nextflow") is None:
        pytest.skip(
            "Nextflow is not installed (this machine has no network beyond the package "
            "registries): `nextflow lint` and a real -stub run are not possible here; the "
            "module is checked structurally and its rendered script is run by the tests above"
        )
    proc = subprocess.run(["nextflow", "lint", str(MODULE / "main.nf")], capture_output=True,
                          text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
