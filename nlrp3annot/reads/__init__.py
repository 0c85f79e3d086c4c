"""Reads: allele counts from BAM/CRAM over the NLRP3 coding exons (``pileup``), a statistical
call of low-fraction (mosaic) alleles against the sample's own error background
(``calling``), and the scan's VCF and TSV (``scan_output``)."""
