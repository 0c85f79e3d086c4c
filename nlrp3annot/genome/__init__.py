"""Where reference facts come from: the bundled transcript model (``reference``), the
locus sequence from a FASTA or a download (``sequence``, ``fetch``), and other transcripts
from GFF3/GTF (``transcripts``)."""
