"""Nothing lost: on every file of the corpus (tricky but valid VCFs in every container), each
ALT allele that htslib finds in the NLRP3 locus is either annotated or listed as skipped with
a reason. The count is htslib's, over the whole file; ours goes through our own readers
(byte filter, tabix seek, text decoder, htslib for BCF)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TEST_FASTA
from corpus import CONTAINERS, alleles_in_locus, contents, plain_copy, write

from nlrp3annot.runner.pipeline import annotate_file

CASES = [(c, form) for c in contents() for form in CONTAINERS]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 100
    assert len({c.name for c, _ in CASES}) >= 15


@pytest.mark.parametrize("content, form", CASES, ids=[f"{c.name}-{form}" for c, form in CASES])
def test_every_allele_in_the_locus_is_annotated_or_skipped_with_a_reason(
    folder: Path, content, form: str
) -> None:
    path = write(content, form, folder / form)
    if path is None:
        pytest.skip(f"{content.name} cannot be held in {form}")
    # counted by htslib on the text every container was made from (it cannot read plain gzip)
    expected = alleles_in_locus(plain_copy(content, folder / form), content.build)
    assert expected > 0
    result = annotate_file(path, fasta=TEST_FASTA[content.build])
    assert result.summary["build"] == content.build
    annotated = len(result.annotations)  # one per record allele (MANE only)
    assert annotated + len(result.skipped) == expected
    assert all(s.reason for s in result.skipped)
