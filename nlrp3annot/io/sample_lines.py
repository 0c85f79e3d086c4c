"""TSV lines of sample rows (:class:`~nlrp3annot.values.SampleRow`), from text formatted once
per shared part: what :mod:`nlrp3annot.io.writers` writes a sample table with, and what a
worker process of ``annotate`` sends in place of its rows when a TSV is the only output
(:func:`as_tsv_lines`), its texts kept for the process's life."""

from __future__ import annotations

import operator

from nlrp3annot.io.cells import USER_TEXT_COLUMNS, csv_text, spreadsheet_safe
from nlrp3annot.values import SampleRow


class SampleLines:
    """TSV lines of :class:`SampleRow` rows, from text formatted once per shared part.

    A row's columns come from its parts: the site, the call, the sample's own reading (with
    the known-variant columns) and the file, besides the sample name. The texts of each run
    of one part's columns are kept per part object (held, so that its id stays its own),
    and behind that per the run's values (a batch of single-sample files repeats its sites
    and calls across files in new objects); the runs of the site and reading between two
    other columns are joined once per (site, reading) pair, a frame (a joint VCF has 10^5
    rows over a few hundred sites and call patterns; a batch of files, the same sites in
    every file). A line is then the frame's texts with the file's, the sample's and the
    call's between them. Any other layout (a column no part has) is written row by row by
    the caller (``line`` returns None)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.planned: bool | None = None
        self.runs: dict[str, list[tuple[object, list[int], int]]] = {}  # per part, in order
        self.groups: list = []  # per frame group: its text from the site's and reading's
        self.template = ""  # the line, as str.format fields of the slots
        self.samples: dict[str, str] = {}
        self.objects: dict[str, dict[int, tuple[object, list[str]]]] = {}  # id -> texts
        self.frames: dict[tuple[int, int], tuple] = {}  # (site, own) -> group texts
        self.halves = None  # (before, after) makers, for the sample table's layout
        self.lines: dict[tuple[int, int, int], tuple] = {}  # (site, own, file) -> halves
        self.texts: list[dict] = []  # per run: its values -> text

    def new_table(self) -> None:
        """Keep the texts within a bound on memory (a process writing table after table)."""
        for kept in (self.frames, self.lines, *self.objects.values(), *self.texts):
            if len(kept) > TEXTS_KEPT:
                kept.clear()

    def _plan(self, row: SampleRow) -> bool:
        """Split the columns into runs of one part each; False when a column is in no part
        (not the sample table's layout)."""
        runs: list[tuple[str, list[str]]] = []
        for column in self.columns:
            if column == "sample":
                name = "sample"
            else:
                parts = ("own", "call", "site", "file")
                name = next((n for n in parts if column in getattr(row, n)), "")
                if not name:
                    return False
            if runs and runs[-1][0] == name and name != "sample":
                runs[-1][1].append(column)
            else:
                runs.append((name, [column]))
        if [name for name, _ in runs].count("sample") != 1:
            return False
        self.runs = {"site": [], "own": [], "call": [], "file": []}
        slots: list[tuple[str, int]] = []
        for name, cols in runs:
            if name != "sample":
                getter = operator.itemgetter(*cols) if len(cols) > 1 else _one(cols[0])
                guarded = [i for i, c in enumerate(cols) if c in USER_TEXT_COLUMNS]
                slots.append((name, len(self.runs[name])))
                self.runs[name].append((getter, guarded, len(self.texts)))
                self.texts.append({})
            else:
                slots.append((name, 0))
        # a frame's texts are the site's runs, then the reading's: their places
        place = {}
        for name in FRAME_PARTS:
            for i in range(len(self.runs[name])):
                place[(name, i)] = len(place)
        fields: list[tuple[str, int]] = []  # ("g", group), ("f", run), ("s", 0), ("c", run)
        group: list[int] = []
        for slot in [*slots, ("", 0)]:  # (a last slot that ends the last group)
            if slot[0] in FRAME_PARTS:
                group.append(place[slot])
                continue
            if group:
                fields.append(("g", len(self.groups)))
                self.groups.append(_pieces(group))
                group = []
            if slot[0]:
                fields.append((slot[0][0], slot[1]))
        self.template = "\t".join("{%s[%d]}" % field for field in fields) + "\n"  # noqa: UP031
        at = fields.index(("s", 0))
        if fields[at + 1 : at + 2] == [("c", 0)] and len(self.runs["call"]) == 1:
            # the sample table's layout: the call's columns right after the sample, so a
            # line is its (site, reading, file) halves around sample and call (one f-string)
            self.halves = (_fields(fields[:at], "", "\t"), _fields(fields[at + 2 :], "\t", ""))
        self.objects = {name: {} for name in self.runs}
        return True

    def _of(self, name: str, part) -> list[str] | None:
        """The texts of the runs of ``part`` (the row's part ``name``)."""
        kept = self.objects[name]
        entry = kept.get(id(part))
        if entry is not None:
            return entry[1]
        out = []
        for getter, guarded, at in self.runs[name]:
            try:
                values = getter(part)
            except KeyError:
                return None
            by_values = self.texts[at]
            try:  # (a column holds values of one type: 1 and True never share one)
                text = by_values.get(values)
            except TypeError:  # a value that cannot be a key: formatted every time
                by_values, text = {}, None
            if text is None:
                listed = list(values)
                for i in guarded:  # (IDs from the user's files: spreadsheet-safe)
                    listed[i] = spreadsheet_safe(listed[i])
                text = by_values[values] = csv_text(listed)
            out.append(text)
        kept[id(part)] = (part, out)
        return out

    def _frame(self, site, own) -> list[str] | None:
        """The texts of the frame groups of a (site, reading) pair."""
        frame = self.frames.get((id(site), id(own)))
        if frame is None:
            site_texts, own_texts = self._of("site", site), self._of("own", own)
            if site_texts is None or own_texts is None:
                return None
            texts = site_texts + own_texts  # (in FRAME_PARTS order)
            frame = (site, own, [join(texts) for join in self.groups])
            self.frames[(id(site), id(own))] = frame
        return frame[2]

    def line(self, row: SampleRow) -> str | None:
        if self.planned is None:
            self.planned = self._plan(row)
        if not self.planned:
            return None
        sample = self.samples.get(row.sample)
        if sample is None:
            sample = self.samples[row.sample] = csv_text([spreadsheet_safe(row.sample)])
        call = self.objects["call"].get(id(row.call))
        call = call[1] if call is not None else self._of("call", row.call)
        if call is None:
            return None
        if self.halves is None:
            groups, file = self._frame(row.site, row.own), self._of("file", row.file)
            if groups is None or file is None:
                return None
            return self.template.format(g=groups, f=file, s=(sample,), c=call)
        site, own, file = row.site, row.own, row.file
        key = (id(site), id(own), id(file))
        halves = self.lines.get(key)
        if halves is None:
            groups, files = self._frame(site, own), self._of("file", file)
            if groups is None or files is None:
                return None
            before, after = self.halves
            halves = (site, own, file, before(groups, files), after(groups, files))
            self.lines[key] = halves
        return f"{halves[3]}{sample}\t{call[0]}{halves[4]}\n"


FRAME_PARTS = ("site", "own")  # the parts whose texts are joined once per pair
TEXTS_KEPT = 100_000  # texts per run of columns a process keeps across tables


def _pieces(places: list[int]):
    """A function joining the texts at ``places`` (at least one) with tabs."""
    if len(places) == 1:
        (at,) = places
        return lambda texts: texts[at]
    getter = operator.itemgetter(*places)
    return lambda texts: "\t".join(getter(texts))


def _fields(fields: list[tuple[str, int]], lead: str, tail: str):
    """A function of (group texts, file texts) joining ``fields`` (("g", i) or ("f", i))
    with tabs, between ``lead`` and ``tail`` ('' when there are none)."""
    if not fields:
        return lambda groups, files: ""
    picks = [(kind == "g", i) for kind, i in fields]

    def joined(groups: list[str], files: list[str]) -> str:
        return lead + "\t".join([groups[i] if g else files[i] for g, i in picks]) + tail

    return joined


def _one(column: str):
    """A getter of one column, as a one-value tuple (the runs' texts are kept per tuple)."""
    return lambda part: (part[column],)
