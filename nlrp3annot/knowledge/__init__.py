"""Known variants: the bundled ClinVar NLRP3 table and CAPS phenotypes (``clinvar``), the
columns they add to rows (``columns``) and lookup by legacy or HGVS name (``lookup``)."""
