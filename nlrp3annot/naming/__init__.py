"""The naming engine (pure): a variant in, HGVS names, consequence terms and protein
change out.

``variant`` (trim, left-align, 3' shift) -> ``coords`` (genomic <-> c.) -> ``protein``
(apply, translate, compare) -> ``hgvs`` and ``consequence`` -> ``annotator`` (one
:class:`~nlrp3annot.values.Annotation` row per transcript). No files, no network.
"""
