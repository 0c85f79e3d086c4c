"""The report: the answer-first headline, the figures (inline SVG), the methods paragraph
written from the plan and the paths taken, and the self-contained HTML page."""
