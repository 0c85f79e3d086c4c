"""Reading the clinical side: response tables and samples sheets (CSV/TSV/XLSX, long or
wide, CDISC), their vocabulary (measures, units, visits), and the join of genotype status to
patients (cohort). Input in, tidy frames out."""
