"""Pseudonyms for patient and sample IDs (``--redact SALT_FILE``).

An ID becomes ``anon-`` and the first 12 hex digits of HMAC-SHA256(salt, ID): the same salt
gives the same pseudonym in every run and every output (so results of several runs join),
and without the salt the IDs cannot be recovered by hashing candidate IDs. The salt file is
created with 32 random bytes (mode 0600) when it does not exist; keep it private, and keep it
to map pseudonyms back (by recomputing them from your ID list).

Sample IDs of VCFs are replaced in the annotation result before anything is written, and
patient and sample IDs of the genotype, clinical and samples tables as soon as they are
read, so no output (TSVs, JSON, VCF header, tables, summary.json, run.json, report.html)
holds a raw ID. Every input path an output records (the VCFs, BAM/CRAMs, clinical table,
samples sheet, FASTA, salt, the command line's paths and the ``source`` of table rows)
becomes the pseudonym of its file name with the file's kind kept (``anon-....vcf.gz``,
:meth:`Redactor.path`): labs name files after their patients. Files the run makes from an
ID (scan VCFs, patient pages) are named from its pseudonym. Messages on stderr may still
name IDs (they are not outputs).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nlrp3annot.errors import InputFileError

PREFIX = "anon-"
_PSEUDONYM = re.compile(r"^anon-[0-9a-f]{12}$")
_QUOTED_SAMPLE = re.compile(r"sample '([^']*)'")
# a file name made from a pseudonym already (an earlier --redact output, a scan VCF of a
# pseudonymised sample): anon-<12 hex>, then only ".scan" and known suffixes
_PSEUDONYMOUS_NAME = re.compile(r"^anon-[0-9a-f]{12}(\.scan)?$")
_ROW_SOURCE = re.compile(r"^(?P<file>.+?)(?P<row>:row \d+)$")
_KNOWN_SUFFIXES = {
    ".vcf", ".gz", ".bcf", ".bgz", ".tsv", ".csv", ".txt", ".xlsx", ".bam", ".cram",
    ".fa", ".fasta", ".fna", ".bed", ".gff", ".gff3", ".gtf", ".json", ".toml", ".npz",
}  # fmt: skip
# columns that hold a patient or sample ID in the tables read and written
ID_COLUMNS = ("sample", "patient_id", "sample_id", "patient", "specimen_id")
# samples-sheet columns that name a person outright: left empty, no pseudonym can make a
# name or a date of birth safe to share
PERSONAL_COLUMNS = ("patient_name", "medical_record_number", "date_of_birth")


@dataclass
class Redactor:
    salt: bytes
    _seen: dict[str, str] = field(default_factory=dict, repr=False)  # pseudonym -> ID

    @classmethod
    def from_file(cls, path: str | Path, announce: bool = True) -> Redactor:
        """The salt in ``path``, made (random, private) when the file does not exist."""
        path = Path(path)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            if announce:
                print(
                    f"nlrp3annot: made the redaction salt {path}: keep it private; the same "
                    "file gives the same pseudonyms in later runs",
                    file=sys.stderr,
                )
        try:
            salt = path.read_bytes().strip()
        except OSError as exc:
            raise InputFileError(
                path, f"cannot be read ({exc.strerror})", "check the path"
            ) from None
        if len(salt) < 16:
            raise InputFileError(
                path,
                "is too short for a redaction salt (at least 16 characters)",
                "delete it and a new random one is made",
            )
        return cls(salt)

    def __call__(self, identifier: object) -> object:
        """The pseudonym of an ID (empty and missing values, and pseudonyms, stay as they
        are: a table written with --redact can be read again with it)."""
        if not isinstance(identifier, str) or identifier == "" or _PSEUDONYM.match(identifier):
            return identifier
        digest = hmac.new(self.salt, identifier.encode(), hashlib.sha256).hexdigest()
        pseudonym = PREFIX + digest[:12]
        earlier = self._seen.setdefault(pseudonym, identifier)
        if earlier != identifier:  # 48 bits: would take ~16 million IDs to expect one
            raise InputFileError(
                Path("--redact"), f"IDs {earlier!r} and {identifier!r} share a pseudonym"
            )
        return pseudonym

    def frame(self, table):
        """A pandas table with every ID column, and its ``file`` and ``source`` columns,
        pseudonymised."""
        table = table.copy()
        for column in ID_COLUMNS:
            if column in table.columns:
                table[column] = table[column].map(self)
        for column, change in (("file", self.path), ("source", self.source)):
            if column in table.columns:
                table[column] = table[column].map(change)
        for column in PERSONAL_COLUMNS:
            if column in table.columns:
                table[column] = ""
        return table

    def text(self, message: str) -> str:
        """A message with the sample IDs it quotes (``sample 'X'``) pseudonymised."""
        return _QUOTED_SAMPLE.sub(lambda m: f"sample '{self(m.group(1))}'", message)

    def path(self, path: object) -> object:
        """A file path as the pseudonym of its name that keeps the file's kind
        (``/data/P01-blood.vcf.gz`` -> ``anon-....vcf.gz``): labs name files after their
        patients, and folders after them too, so the folders are left out. A name made from
        a pseudonym already (``anon-....scan.vcf.gz``) is kept, without its folders. The
        same name gets the same pseudonym wherever it lies."""
        if not isinstance(path, str) or path == "":
            return path
        name = Path(path).name or path
        suffixes = [s for s in Path(name).suffixes if s.lower() in _KNOWN_SUFFIXES]
        suffix = "".join(suffixes)
        stem = name[: len(name) - len(suffix)] if suffix and name.endswith(suffix) else name
        if _PSEUDONYMOUS_NAME.match(stem):
            return name
        return f"{self(name)}{suffix}"

    def source(self, source: object) -> object:
        """A table row's source (``response.xlsx:row 12``) with the file's pseudonym."""
        if not isinstance(source, str) or source == "":
            return source
        found = _ROW_SOURCE.match(source)
        if found is None:
            return self.path(source)
        return f"{self.path(found['file'])}{found['row']}"

    def command(self, words: list[str], literal_options: set[str]) -> list[str]:
        """A command line (program and command first) with every path in it pseudonymised:
        each word that is not an option, except the value of an option in
        ``literal_options`` (numbers, choices, addresses), is a path; ``SAMPLE=FILE``
        (``--coverage``) gets both pseudonyms."""
        out = list(words[:2])
        literal_next = False
        for word in words[2:]:
            if literal_next:
                out.append(word)
                literal_next = False
                continue
            if word.startswith("-") and len(word) > 1:
                option, equals, value = word.partition("=")
                if equals and option not in literal_options:
                    word = f"{option}={self._path_word(value)}"
                literal_next = not equals and option in literal_options
                out.append(word)
                continue
            out.append(self._path_word(word))
        return out

    def _path_word(self, word: str) -> str:
        sample, equals, path = word.rpartition("=")
        if equals and sample and not Path(word).exists():  # --coverage SAMPLE=FILE
            return f"{self(sample)}={self.path(path)}"
        return str(self.path(word))

    def result(self, result):
        """An AnnotationResult with every sample ID and input path pseudonymised (rows,
        patients, skipped alleles, summary)."""
        from dataclasses import replace

        from nlrp3annot.values import SITE_KEYS, SampleRow, SiteRow

        at = SITE_KEYS.index("file")
        parts: dict[int, dict] = {}  # one copy per shared part that names the file

        def part_of(part: dict) -> dict:
            if "file" not in part:
                return part
            if id(part) not in parts:
                parts[id(part)] = {**part, "file": self.path(part["file"])}
            return parts[id(part)]

        def row_of(row):
            if type(row) is SampleRow:
                return SampleRow(
                    self(row.sample),
                    part_of(row.site),
                    row.call,
                    part_of(row.own),
                    part_of(row.file),
                )
            if type(row) is SiteRow:
                values = row.values
                return SiteRow((*values[:at], self.path(values[at]), *values[at + 1 :]))
            out = dict(row)
            for key, change in (("sample", self), ("file", self.path)):
                if key in out:
                    out[key] = change(out[key])
            return out

        summary = dict(result.summary)
        if "file" in summary:
            summary["file"] = self.path(summary["file"])
        if "per_file" in summary:
            summary["per_file"] = [
                {**f, "file": self.path(f.get("file"))} for f in summary["per_file"]
            ]
        if "failures" in summary:
            summary["failures"] = [
                {**f, "file": self.path(f.get("file"))} for f in summary["failures"]
            ]
        return replace(
            result,
            table=[row_of(row) for row in result.table],
            patients=[
                {**p, "sample": self(p.get("sample")), "file": self.path(p.get("file"))}
                for p in result.patients
            ],
            skipped=[replace(s, path=self.path(s.path)) for s in result.skipped],
            summary=summary,
            failures=[(self.path(f), e) for f, e in result.failures],
        )

    def vcf_header(self, header: bytes) -> bytes:
        """A VCF header whose #CHROM line names pseudonyms for its sample columns."""
        lines = header.split(b"\n")
        for i, line in enumerate(lines):
            if line.startswith(b"#CHROM"):
                cells = line.rstrip(b"\r").split(b"\t")
                cells[9:] = [str(self(c.decode())).encode() for c in cells[9:]]
                lines[i] = b"\t".join(cells)
        return b"\n".join(lines)
