"""Jobs: the annotate job over one or many files (``pipeline``)."""
