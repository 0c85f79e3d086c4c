"""The naming engine's own genetic code against Biopython's (an independent table)."""

from __future__ import annotations

import random

from Bio.Data.CodonTable import standard_dna_table
from Bio.Seq import Seq

from nlrp3annot.naming.protein import _CODONS, translate


def test_codon_table_is_ncbi_table_1() -> None:
    expected = dict(standard_dna_table.forward_table)
    expected.update({stop: "*" for stop in standard_dna_table.stop_codons})
    assert expected == _CODONS


def test_translate_agrees_with_biopython_on_random_sequences() -> None:
    rng = random.Random(7)
    for _ in range(200):
        dna = "".join(rng.choice("ACGT") for _ in range(rng.randrange(0, 120)))
        usable = dna[: len(dna) - len(dna) % 3]
        theirs = str(Seq(usable).translate()) if usable else ""
        assert translate(dna, to_stop=False) == theirs
        to_stop = theirs[: theirs.index("*") + 1] if "*" in theirs else theirs
        assert translate(dna) == to_stop
