"""nlrp3annot."""
