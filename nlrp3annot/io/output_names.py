"""What ``annotate`` writes, from the name it is given: the format follows the file name's
extension (or ``-O``), and each output has its own list of skipped alleles beside it.
Pure: names in, names out."""

from __future__ import annotations

from pathlib import Path

from nlrp3annot.errors import Nlrp3AnnotError

# extension -> format, longest first so that ".vcf.gz" is not read as ".gz"
EXTENSIONS = {
    ".vcf.gz": "vcf",
    ".vcf": "vcf",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".json": "json",
    ".xlsx": "xlsx",
}
FORMATS = ("tsv", "json", "vcf", "xlsx")


def known_extension(output: str) -> str | None:
    """The extension of ``output`` that names a format, or None."""
    name = Path(output).name.lower()
    return next((ext for ext in EXTENSIONS if name.endswith(ext)), None)


def output_format(fmt: str | None, output: str | None) -> str:
    """The format to write: ``fmt`` (``-O``) when given, else the one ``output``'s extension
    names, else TSV (on stdout). An extension that names no format, or another format than
    ``-O``, is refused: a file's content is what its name says."""
    if fmt is not None and fmt not in FORMATS:
        raise Nlrp3AnnotError(f"-O {fmt}: unknown output format; use one of {', '.join(FORMATS)}")
    if not output:
        if fmt == "xlsx":
            raise Nlrp3AnnotError("-O xlsx needs -o FILE.xlsx: a workbook is not written to stdout")
        return fmt or "tsv"
    ext = known_extension(output)
    if ext is None:
        if fmt is not None:
            return fmt  # the user said the format (a name without an extension, /dev/stdout)
        suffix = "".join(Path(output).suffixes[-2:]) or "no extension"
        raise Nlrp3AnnotError(
            f"{output}: unknown output extension ({suffix}); use "
            f"{', '.join(EXTENSIONS)}, or give the format with -O {{{','.join(FORMATS)}}}"
        )
    named = EXTENSIONS[ext]
    if fmt is not None and fmt != named:
        raise Nlrp3AnnotError(
            f"{output}: the name says {named} but -O {fmt} was given; name the file "
            f"{Path(output).name[: -len(ext)]}.{'vcf.gz' if fmt == 'vcf' else fmt}, or drop -O"
        )
    return named


def skipped_path(output: str) -> Path:
    """The skipped-allele list of one output: its name + ``.skipped.tsv``, a ``.tsv`` ending
    dropped first (``calls.tsv`` -> ``calls.skipped.tsv``, ``calls.json`` ->
    ``calls.json.skipped.tsv``, ``calls.vcf.gz`` -> ``calls.vcf.gz.skipped.tsv``), so that the
    outputs of one input in several formats never share one list."""
    out = Path(output)
    name = out.name
    if name.lower().endswith(".tsv"):
        name = name[: -len(".tsv")]
    return out.with_name(f"{name}.skipped.tsv")
