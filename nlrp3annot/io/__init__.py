"""The edges: reading VCF/BCF (``vcf``) and writing TSV/JSON/VCF outputs (``writers``)
atomically (``atomic``)."""
