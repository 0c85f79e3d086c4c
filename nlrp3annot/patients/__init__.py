"""From genotypes to patients (pure): zygosity and the mosaic test (``zygosity``), the
protein change on the sample's own haplotype (``haplotypes``), and one status per patient
(``status``)."""
