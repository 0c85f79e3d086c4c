"""Genotype vs treatment response: clinical tables (``clinical``), the join
(``cohort``), statistics (``compare``), and the results folder and HTML report
(``analysis``, ``html_report``)."""
