"""The laboratory profile (--lab): the shipped example reads back as its text says, and a
wrong profile is one line naming the file and the key, exit 2, before any work."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from nlrp3annot.cli import main
from nlrp3annot.delivery.lab import example_path, read_lab_profile

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_example_is_read_as_written() -> None:
    raw = tomllib.loads((ROOT / "reference" / "lab_profile.example.toml").read_text())
    lab = read_lab_profile(example_path())
    assert lab.name == raw["lab"]["name"]
    assert list(lab.accreditation) == raw["lab"]["accreditation"]
    assert [(s.name, s.credentials, s.role) for s in lab.signatories] == [
        (s["name"], s["credentials"], s["role"]) for s in raw["signatory"]
    ]
    assert list(lab.disclaimers) == raw["report"]["disclaimers"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[lab]\nname = "X"\nfax = "1"\n', "unknown key lab.fax"),
        ('[lab]\naddress = "x"\n', "no [lab] name"),
        ('[lab]\nname = "X"\n[[signatory]]\ncredentials = "PhD"\n', "signatory[1] has no name"),
        ('[lab]\nname = "X"\naccreditation = 5\n', "lab.accreditation must be a list"),
        ("[lab\nname=", "is not TOML"),
    ],
)
def test_a_wrong_profile_is_one_line_before_any_work(
    tmp_path: Path, capsys, text: str, words: str
) -> None:
    profile = tmp_path / "lab.toml"
    profile.write_text(text)
    out = tmp_path / "results"
    code = main(["run", "nothing.vcf.gz", "--clinical", "c.csv", "--samples", "s.csv",
                 "-o", str(out), "--lab", str(profile)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert str(profile) in err[0] and words in err[0]
    assert not out.exists()


def test_lab_profile_prints_the_documented_example(capsys) -> None:
    assert main(["lab-profile"]) == 0
    printed = capsys.readouterr().out
    assert printed == (ROOT / "reference" / "lab_profile.example.toml").read_text()
    assert tomllib.loads(printed)["lab"]["name"]
