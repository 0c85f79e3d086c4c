"""The help teaches and a usage error says what was mistyped (issue 27 points 2 and 5):
every command of the parser tree has a description and examples, every option a help
text stating its default, every positional a name saying what it takes; ``--help`` of
every command renders without a stray ``%``; a misspelled option gets the command's own
one-line usage and the option meant; a numeric option out of range is refused while the
command line is read, naming the option, the value and the range."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from nlrp3annot.cli import main
from nlrp3annot.cli.options import Number
from nlrp3annot.cli.parser import build_parser


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command's parser with the words that name it, the top level first."""
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found


COMMANDS = _commands(build_parser())
IDS = [" ".join(path) or "nlrp3annot" for path, _ in COMMANDS]


def _own_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._VersionAction))
    ]


def test_the_walk_finds_every_command() -> None:
    """(A guard on the walk itself: the nested commands are in it.)"""
    assert {"annotate", "run", "scan", "reference fetch", "knowledge update"} <= set(IDS)
    assert len(COMMANDS) >= 14


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=IDS)
def test_every_command_has_a_description_and_examples(path, parser) -> None:
    assert parser.description and len(parser.description) > 20, path
    assert parser.epilog and parser.epilog.startswith("examples:"), path
    examples = [line.strip() for line in parser.epilog.splitlines()[1:]]
    assert examples and all(e.startswith(" ".join(("nlrp3annot", *path))) for e in examples)


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=IDS)
def test_every_argument_has_help_and_states_its_default(path, parser) -> None:
    formatter = parser._get_formatter()
    for action in _own_actions(parser):
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help is not argparse.SUPPRESS, (path, name)
        if not action.option_strings:
            assert action.metavar and action.metavar == action.metavar.upper(), (path, name)
            continue
        default = action.default
        if default in (None, False) or default == []:
            continue
        shown = formatter._expand_help(action)
        assert "default" in shown and str(default) in shown, (path, name, shown)


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=IDS)
def test_help_renders_without_a_stray_percent(path, parser, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main([*path, "--help"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: {' '.join(('nlrp3annot', *path))}")
    assert "%%" not in shown and "%(" not in shown, shown
    assert "examples:\n  nlrp3annot" in shown


def test_report_help_says_95_percent_once_escaped(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["report", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())  # (undo the wrapping)
    assert "its 95% CI and tissue" in shown


def test_run_names_what_its_positional_takes() -> None:
    run = dict((" ".join(p), c) for p, c in COMMANDS)["run"]
    positional = next(a for a in run._actions if not a.option_strings and a.dest == "vcf")
    assert positional.metavar == "INPUT"
    assert all(kind in positional.help for kind in ("VCF", "BCF", "BAM", "CRAM"))


def test_demo_shows_its_output_folder(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["demo", "--help"]) == 0
    assert "(default: nlrp3annot-demo)" in capsys.readouterr().out


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args], capture_output=True, text=True, timeout=60
    )


def _usage_error(proc: subprocess.CompletedProcess, command: str) -> str:
    """The error line of a usage error of ``command``, after checking the form: exit 2,
    the command's one-line usage, one error line, no traceback."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith(f"usage: {command} "), lines[0]
    assert lines[1].startswith(f"{command}: error: "), lines[1]
    return lines[1]


def test_a_misspelled_option_names_the_one_meant_in_the_commands_usage() -> None:
    proc = _python("annotate", "x.vcf", "--fastaa", "f.fa")
    error = _usage_error(proc, "nlrp3annot annotate")
    assert "--fastaa" in error and "did you mean --fasta?" in error
    assert "{annotate," not in proc.stderr  # not the top level's usage
    assert "[VCF ...]" in proc.stderr


def test_a_misspelled_option_of_a_nested_command() -> None:
    error = _usage_error(_python("reference", "fetch", "--biuld", "GRCh37"),
                         "nlrp3annot reference fetch")  # fmt: skip
    assert "did you mean --build?" in error


def test_an_option_like_nothing_known_is_named_without_a_guess() -> None:
    error = _usage_error(_python("lookup", "R260W", "--zzzzzz"), "nlrp3annot lookup")
    assert "--zzzzzz" in error and "did you mean" not in error


def test_a_misspelled_command_is_suggested() -> None:
    error = _usage_error(_python("anotate", "x.vcf"), "nlrp3annot")
    assert "'anotate'" in error and "did you mean annotate?" in error


@pytest.mark.parametrize(("command", "subcommands"), [("reference", ["fetch"]),
                                                     ("knowledge", ["update"])])  # fmt: skip
def test_a_command_given_without_its_subcommand_lists_them(command, subcommands) -> None:
    proc = _python(command)
    error = _usage_error(proc, f"nlrp3annot {command}")
    assert all(name in error for name in subcommands), error
    assert "_command" not in proc.stderr and "required" not in error


# Every numeric option with values inside and outside its range, written down from what
# the option means (not read off the parser): a count of reads is 1 or more; a P value
# lies strictly between 0 and 1; an allele fraction is above 0 and at most 1; a per-base
# error rate is at least 0 and below 1; MAPQ is 0-255 and a Phred base quality 0-93 (SAM
# specification 1.4); NaN and infinity are never a value.
RANGES = {
    "--min-depth": (["1", "20"], ["0", "-5", "2.5", "abc"]),
    "--min-alt-reads": (["1", "5"], ["0", "-1"]),
    "--mosaic-alpha": (["0.01", "0.999"], ["0", "1", "5", "-0.1", "nan", "inf"]),
    "--max-mosaic-vaf": (["1", "0.4"], ["0", "1.01", "nan", "-inf"]),
    "--noise-floor": (["0", "0.04"], ["1", "1.5", "-0.01", "nan"]),
    "--jobs": (["1", "8"], ["0", "-2", "two"]),
    "--min-mapq": (["0", "255"], ["-1", "256"]),
    "--min-baseq": (["0", "93"], ["-1", "94"]),
    "--max-lod": (["1", "0.05"], ["0", "1.5", "nan"]),
}
COUNTS = {"--min-depth", "--min-alt-reads", "--jobs", "--min-mapq", "--min-baseq"}
REQUIRED = {
    "run": ["in.vcf", "--clinical", "c.csv", "--samples", "s.csv", "-o", "out"],
    "scan": ["in.bam", "--fasta", "g.fa", "-o", "out"],
    "compare": ["--genotypes", "g.tsv", "--clinical", "c.csv", "--samples", "s.csv", "-o", "out"],
}


def _numeric_options() -> list[tuple[str, str, argparse.Action]]:
    found = []
    for path, parser in COMMANDS:
        for action in _own_actions(parser):
            if action.type in (int, float) or isinstance(action.type, Number):
                found.append((" ".join(path), action.option_strings[-1], action))
    return found


NUMERIC = _numeric_options()


def test_every_numeric_option_is_bounded_and_has_its_range_here() -> None:
    assert {option for _, option, _ in NUMERIC} == set(RANGES)
    assert all(isinstance(action.type, Number) for _, _, action in NUMERIC)
    assert {command for command, _, _ in NUMERIC} == {"annotate", "run", "scan", "demo", "compare"}


CASES = [(command, option, value) for command, option, _ in NUMERIC for value in RANGES[option][1]]


@pytest.mark.parametrize(("command", "option", "value"), CASES)
def test_an_out_of_range_value_is_refused_before_anything_is_read(
    command, option, value, capsys
) -> None:
    args = REQUIRED.get(command, ["missing.vcf"] if command == "annotate" else [])
    assert main([command, *args, f"{option}={value}"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"usage: nlrp3annot {command} ")
    error = lines[1]
    assert error.startswith(f"nlrp3annot {command}: error: argument ")
    assert option in error and f" {value} " in f" {error} ".replace("'", " "), error
    assert "give" in error and ("at least" in error or "above" in error), error


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [(c, o, v) for c, o, _ in NUMERIC for v in RANGES[o][0]],
)
def test_a_value_in_range_is_taken_as_the_number(command, option, value) -> None:
    args = REQUIRED.get(command, ["missing.vcf"] if command == "annotate" else [])
    parsed = build_parser().parse_args([command, *args, option, value])
    taken = getattr(parsed, option.lstrip("-").replace("-", "_"))
    expected = int(value) if option in COUNTS else float(value)
    assert taken == expected and type(taken) is type(expected)


def test_the_issues_example_is_one_usage_error_about_an_option() -> None:
    """`--mosaic-alpha 5 --min-depth -5 --max-mosaic-vaf nan` (issue 27): refused at the
    first bad option, before the VCF (which does not exist) is looked at."""
    proc = _python("annotate", "missing.vcf", "--mosaic-alpha", "5", "--min-depth", "-5",
                   "--max-mosaic-vaf", "nan")  # fmt: skip
    error = _usage_error(proc, "nlrp3annot annotate")
    assert "--mosaic-alpha: 5 is out of range" in error and "missing.vcf" not in error
    assert "above 0 and below 1" in error


def test_help_starts_without_the_heavy_libraries() -> None:
    """`nlrp3annot --help` stays fast (benchmark S < 0.15 s): the grammar imports no
    science stack, and the suggestions' difflib only on an error."""
    code = ("import sys; import nlrp3annot.cli.parser as p; p.build_parser(); "
            "print(' '.join(sorted(sys.modules)))")  # fmt: skip
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())  # fmt: skip
    assert not loaded & {"pandas", "numpy", "pysam", "scipy", "difflib", "openpyxl"}
