"""The statistical analysis plan as a TOML file, written before the data are seen.

Groups compared, group rule, primary and secondary end points, multiplicity and the responder
definition come from one file, so the plan can be shown to a reviewer, kept with the results
(summary.json) and changed only on purpose. The packaged default_plan.toml is the NEJM 2006
anakinra study's (Goldbach-Mansky et al.). A bad plan is refused with one InputFileError line
naming the file and the key: a plan that half-loads would silently change the analysis.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from nlrp3annot.errors import InputFileError
from nlrp3annot.response.stats.responders import ResponderRule
from nlrp3annot.response.tables.clinical_terms import CANONICAL_UNITS, normalise_visit
from nlrp3annot.response.tables.cohort import COMPARED, GROUP_RULES

MEASURES = tuple(CANONICAL_UNITS)  # diary, saa, crp, esr
GROUP_RULE_NAMES = tuple(GROUP_RULES)  # strict, germline_only, vus_as_positive
GROUPS = tuple(dict.fromkeys(g for rule in GROUP_RULES.values() for g in rule.values()))
TIME_TO_FLARE = ("primary", "secondary", "none")
# The test of time to flare that the plan's row carries; the other is shown as secondary.
# firth_lr: Firth's penalised likelihood-ratio test with its profile-likelihood interval;
# logrank: the log-rank test (asymptotic) with the interval inverting its score test.
FLARE_TESTS = ("firth_lr", "logrank")
FLARE_TEST_NAMES = {
    "firth_lr": "Cox with Firth's penalised likelihood, likelihood-ratio test",
    "logrank": "log-rank test (asymptotic)",
}
MULTIPLICITY = ("holm", "fixed_sequence", "none")
# The plan's question, whose tests form the primary family: "study" (the NEJM 2006 trial's:
# each end point's within-patient change in all patients) or "genotype" (the end points
# compared between the two groups). The other question is asked too, labelled: the genotype
# comparison "exploratory", the study's within-patient changes "supporting".
QUESTIONS = ("study", "genotype")
QUESTION_WORDS = {
    "study": "within-patient change in all patients",
    "genotype": "comparison between the groups",
}
WITHIN_GROUP = ("descriptive", "tested")
NON_BLOOD_NEGATIVE = ("not_assessable", "negative")  # the first is the default
DEFAULT_SOURCE = "built-in default (NEJM 2006)"
TIME_TO_FLARE_LABEL = "time to flare"
ALL_PATIENTS = "all patients"
_SHOWN = {"diary": "diary", "saa": "SAA", "crp": "CRP", "esr": "ESR"}
_COPY_HINT = "copy nlrp3annot/response/default_plan.toml, whose comments explain every key"


@dataclass(frozen=True)
class Endpoint:
    measure: str  # diary, saa, crp or esr
    change: tuple[str, str]  # (from visit, to visit)

    @property
    def label(self) -> str:
        return f"{_SHOWN[self.measure]} {self.change[0]}->{self.change[1]}"


@dataclass(frozen=True)
class Visits:
    baseline: str = "baseline"
    followup: str = "month3"
    flare: str = "flare"
    extra: tuple[str, ...] = ("month6",)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.baseline, self.followup, self.flare, *self.extra)


@dataclass(frozen=True, kw_only=True)
class AnalysisPlan:
    title: str
    compared: tuple[str, str] = COMPARED
    group_rule: str = "strict"
    sensitivity_group_rules: tuple[str, ...] = ("germline_only", "vus_as_positive")
    alpha: float = 0.05
    primary: tuple[Endpoint, ...]
    secondary: tuple[Endpoint, ...] = ()
    time_to_flare: str = "primary"
    flare_test: str = "firth_lr"
    question: str = "study"
    multiplicity: str = "holm"
    within_group: str = "descriptive"
    # a patient negative only in tissues other than blood/myeloid (buccal, skin...):
    # "not_assessable" (NOMID mosaicism may sit in myeloid cells) or counted "negative"
    non_blood_negative: str = "not_assessable"
    responder: ResponderRule = field(default_factory=ResponderRule)
    visits: Visits = field(default_factory=Visits)
    source: str = DEFAULT_SOURCE

    @property
    def genotype_family(self) -> tuple[str, ...]:
        """The between-group tests of the primary end points (and time to flare when
        primary), in order: the primary family when ``question`` is "genotype", else
        exploratory."""
        labels = tuple(e.label for e in self.primary)
        return labels + ((TIME_TO_FLARE_LABEL,) if self.time_to_flare == "primary" else ())

    @property
    def study_family(self) -> tuple[str, ...]:
        """The within-patient changes in all patients of the primary end points, in order:
        the primary family when ``question`` is "study", else supporting."""
        return tuple(f"{ALL_PATIENTS}: {e.label}" for e in self.primary)

    @property
    def primary_family(self) -> tuple[str, ...]:
        """The tests the multiplicity rule covers, in testing order."""
        return self.study_family if self.question == "study" else self.genotype_family


def default_plan() -> AnalysisPlan:
    """The packaged NEJM 2006 plan."""
    text = resources.files("nlrp3annot.response").joinpath("default_plan.toml").read_text("utf-8")
    return _parse(text, "default_plan.toml", DEFAULT_SOURCE)


def with_overrides(
    plan: AnalysisPlan | None,
    compared: tuple[str, str] | None = None,
    alpha: float | None = None,
    visits: tuple[str, str, str] | None = None,
) -> AnalysisPlan:
    """``plan`` (default: :func:`default_plan`) with the groups, alpha and visit names a
    caller gave directly; end points naming the plan's baseline/follow-up/flare visits follow
    the renamed visits."""
    plan = plan if plan is not None else default_plan()
    changes: dict[str, Any] = {}
    if compared is not None:
        changes["compared"] = tuple(compared)
    if alpha is not None:
        changes["alpha"] = float(alpha)
    if visits is not None and visits != (
        plan.visits.baseline,
        plan.visits.followup,
        plan.visits.flare,
    ):
        old = (plan.visits.baseline, plan.visits.followup, plan.visits.flare)
        rename = dict(zip(old, visits, strict=True))

        def moved(endpoints: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
            return tuple(
                Endpoint(
                    e.measure,
                    (rename.get(e.change[0], e.change[0]), rename.get(e.change[1], e.change[1])),
                )  # fmt: skip
                for e in endpoints
            )

        changes["visits"] = replace(plan.visits, baseline=visits[0], followup=visits[1],
                                    flare=visits[2])  # fmt: skip
        changes["primary"] = moved(plan.primary)
        changes["secondary"] = moved(plan.secondary)
    return replace(plan, **changes) if changes else plan


def load_plan(path: str | Path) -> AnalysisPlan:
    """A plan from a TOML file; any problem is one InputFileError line naming the key."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        problem = f"cannot read the analysis plan: {error.strerror or error}"
        raise InputFileError(path, problem, _COPY_HINT) from None
    except UnicodeDecodeError:
        raise InputFileError(path, "the analysis plan is not UTF-8 text", _COPY_HINT) from None
    return _parse(text, path, str(path))


def plan_to_dict(plan: AnalysisPlan) -> dict[str, Any]:
    """JSON-ready (lists, not tuples), with the labels a reader of summary.json sees."""
    data = _lists(asdict(plan))
    for key in ("primary", "secondary"):
        for entry, endpoint in zip(data[key], getattr(plan, key), strict=True):
            entry["label"] = endpoint.label
    data["primary_family"] = list(plan.primary_family)
    data["study_family"] = list(plan.study_family)
    data["genotype_family"] = list(plan.genotype_family)
    return data


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def describe_plan(plan: AnalysisPlan) -> list[str]:
    """Plain-English lines for the report's methods section: the plan's question first."""
    between, a, n = " and ".join(plan.compared), plan.alpha, len(plan.primary_family)
    adjustment = {
        "holm": f"Holm-adjusted over {n} tests at alpha {a:g}",
        "fixed_sequence": f"a fixed sequence of {n} tests at alpha {a:g} in the order listed, "
        "stopping at the first non-significant",
        "none": f"{n} tests, each at alpha {a:g}, unadjusted",
    }[plan.multiplicity]
    other = next(t for t in FLARE_TESTS if t != plan.flare_test)
    flare = (
        f"{TIME_TO_FLARE_LABEL} after withdrawal ({FLARE_TEST_NAMES[plan.flare_test]}; "
        f"{FLARE_TEST_NAMES[other]} shown beside it as a secondary test)"
    )
    endpoints = [e.label for e in plan.primary]
    compared = endpoints + [flare] * (plan.time_to_flare == "primary")
    secondary = [e.label for e in plan.secondary]
    study = (
        f"each end point's within-patient change in all patients (Wilcoxon signed-rank): "
        f"{', '.join(endpoints)}"
    )
    genotype = f"the end points compared between {between}: {', '.join(compared)}"
    if plan.question == "study":
        lines = [
            f"Analysis plan: {plan.title} (from {plan.source}).",
            f"Primary question, the study's ({adjustment}): {study}.",
            f"Exploratory question, the genotype comparison (not pre-specified as primary; "
            f"each at alpha {a:g}, unadjusted): {genotype}.",
        ]
        if secondary:
            lines.append(
                f"Secondary end points (within-patient change in all patients, each at alpha "
                f"{a:g}, unadjusted): {', '.join(secondary)}."
            )
    else:
        lines = [
            f"Analysis plan: {plan.title} (from {plan.source}).",
            f"Primary question, the genotype comparison ({adjustment}): {genotype}.",
            f"Supporting: {study} (each at alpha {a:g}, unadjusted).",
        ]
        if secondary:
            lines.append(
                f"Secondary end points (between {between}, each at alpha {a:g}, "
                f"unadjusted): {', '.join(secondary)}."
            )
    if plan.time_to_flare == "secondary":
        lines.append(f"Secondary, between {between}: {flare}.")
    if plan.time_to_flare == "none":
        lines.append("Time to flare is not analysed.")
    lines.append(
        "Changes within each compared group are descriptive (no confirmatory P values)."
        if plan.within_group == "descriptive"
        else "Changes within each compared group are tested, unadjusted, outside the "
        "primary family."
    )
    rules = ", ".join(plan.sensitivity_group_rules) or "none"
    if plan.non_blood_negative == "negative":
        lines.append(
            "Patients negative only in tissues other than blood or myeloid cells (buccal, "
            "skin...) are counted as mutation-negative, as the plan says, although such a "
            "negative does not exclude a myeloid mosaic."
        )
    return [
        *lines,
        f"Responder: {plan.responder.describe()}.",
        f"Groups by the {plan.group_rule} rule; sensitivity analyses under: {rules}.",
    ]


class _Table:
    """One table of the parsed TOML: typed access, each failure one line naming file and key."""

    def __init__(self, where: str | Path, data: dict[str, Any], prefix: str = "", entry: str = ""):
        self.where, self.data, self.prefix, self.entry = where, data, prefix, entry

    def fail(self, key: str, problem: str, hint: str = "") -> InputFileError:
        message = f"key '{self.prefix}{key}'{self.entry}: {problem}"
        # a quoted TOML key or a multi-line string may hold a newline; the CLI prints one line
        return InputFileError(self.where, message.replace("\n", "\\n").replace("\r", "\\r"), hint)

    def only(self, *allowed: str) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, "unknown key", f"allowed here: {', '.join(allowed)}")

    def get(self, key: str, kind: type | tuple[type, ...], shown: str) -> Any:
        value = self.data[key]
        # bool is an int in Python; alpha = true is a mistake, not 1
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(key, f"expected {shown}, got {_type_name(value)} {value!r}")
        return value

    def table(self, key: str) -> _Table:
        data = self.get(key, dict, "a table") if key in self.data else {}
        return _Table(self.where, data, f"{self.prefix}{key}.")

    def text(self, key: str, default: str) -> str:
        if key not in self.data:
            return default
        value = self.get(key, str, "a string").strip()
        if not value:
            raise self.fail(key, "empty string")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key, allowed[0])  # the first allowed value is the default
        if value not in allowed:
            raise self.fail(key, f"{value!r} is not allowed", f"use one of {', '.join(allowed)}")
        return value

    def texts(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if key not in self.data:
            return default
        values = self.get(key, list, "a list of strings")
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(key, f"expected a list of non-empty strings, got {values!r}")
        return tuple(v.strip() for v in values)

    def number(self, key: str, default: float, low: float, high: float, hint: str) -> float:
        if key not in self.data:
            return default
        value = float(self.get(key, (int, float), "a number"))
        if not low < value <= high:  # also refuses nan, which TOML allows
            raise self.fail(key, f"{value:g} is outside ({low:g}, {high:g}]", hint)
        return value

    def visit(self, key: str, default: str, visits: Visits) -> str:
        return _declared(self, key, self.text(key, default), visits)


def _declared(table: _Table, key: str, name: str, visits: Visits) -> str:
    # matched the way the clinical reader names visits, so "Month 3" in a plan is month3
    visit = normalise_visit(name)
    if visit not in visits.names:
        hint = f"declared: {', '.join(visits.names)}; add it to visits.extra"
        raise table.fail(key, f"visit {name!r} is not declared in [visits]", hint)
    return visit


def _parse(text: str, where: str | Path, source: str) -> AnalysisPlan:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        problem = " ".join(str(error).split())
        raise InputFileError(where, f"not valid TOML: {problem}", _COPY_HINT) from None
    top = _Table(where, data)
    top.only(*(f.name for f in fields(AnalysisPlan) if f.name != "source"))
    visits = _visits(top.table("visits"))
    group_rule = top.choice("group_rule", GROUP_RULE_NAMES)
    if "primary" not in data:
        raise top.fail("primary", "missing", "a plan needs at least one primary end point")
    primary = _endpoints(top, "primary", visits)
    if not primary:
        raise top.fail("primary", "empty list", "a plan needs at least one primary end point")
    secondary = _endpoints(top, "secondary", visits)
    for endpoint in secondary:
        if endpoint in primary:
            raise top.fail("secondary", f"{endpoint.label} is also a primary end point")
    return AnalysisPlan(
        title=top.text("title", "Analysis plan"),
        compared=_compared(top),
        group_rule=group_rule,
        sensitivity_group_rules=_sensitivity(top, group_rule),
        alpha=top.number("alpha", 0.05, 0.0, 0.5, "a two-sided level, e.g. 0.05"),
        primary=primary,
        secondary=secondary,
        time_to_flare=top.choice("time_to_flare", TIME_TO_FLARE),
        flare_test=top.choice("flare_test", FLARE_TESTS),
        question=top.choice("question", QUESTIONS),
        multiplicity=top.choice("multiplicity", MULTIPLICITY),
        within_group=top.choice("within_group", WITHIN_GROUP),
        non_blood_negative=top.choice("non_blood_negative", NON_BLOOD_NEGATIVE),
        responder=_responder(top.table("responder"), visits),
        visits=visits,
        source=source,
    )


def _visits(table: _Table) -> Visits:
    table.only("baseline", "followup", "flare", "extra")
    default = Visits()
    named = {
        k: normalise_visit(table.text(k, getattr(default, k)))
        for k in ("baseline", "followup", "flare")
    }
    extra = tuple(normalise_visit(v) for v in table.texts("extra", default.extra))
    visits = Visits(extra=extra, **named)
    twice = sorted({v for v in visits.names if visits.names.count(v) > 1})
    if twice:
        key = "extra" if "extra" in table.data else "followup"
        raise table.fail(key, f"visit {twice[0]!r} is declared twice", "names must differ")
    return visits


def _compared(top: _Table) -> tuple[str, str]:
    groups = top.texts("compared", COMPARED)
    hint = f"two different groups of {', '.join(GROUPS)}"
    if len(groups) != 2 or groups[0] == groups[1]:
        raise top.fail("compared", f"expected two different groups, got {list(groups)}", hint)
    for group in groups:
        if group not in GROUPS:
            raise top.fail("compared", f"unknown group {group!r}", hint)
    return groups[0], groups[1]


def _sensitivity(top: _Table, group_rule: str) -> tuple[str, ...]:
    key = "sensitivity_group_rules"
    rules = top.texts(key, tuple(r for r in GROUP_RULE_NAMES if r != group_rule))
    for rule in rules:
        if rule not in GROUP_RULE_NAMES:
            raise top.fail(key, f"unknown rule {rule!r}", f"use {', '.join(GROUP_RULE_NAMES)}")
        if rule == group_rule:
            raise top.fail(key, f"{rule!r} is the main group_rule", "list only the others")
    if len(set(rules)) != len(rules):
        raise top.fail(key, "a rule is listed twice")
    return rules


def _endpoints(top: _Table, key: str, visits: Visits) -> tuple[Endpoint, ...]:
    entries = top.get(key, list, "a list of { measure, change } tables") if key in top.data else []
    found: list[Endpoint] = []
    for n, entry in enumerate(entries, start=1):
        # entries counted from 1 in messages, as a reader counts them down the list
        if not isinstance(entry, dict):
            raise top.fail(key, f"entry {n}: expected {{ measure = ..., change = [...] }}")
        table = _Table(top.where, entry, f"{key}.", f" (entry {n})")
        table.only("measure", "change")
        for part in ("measure", "change"):
            if part not in entry:
                raise table.fail(part, "missing")
        measure = table.text("measure", "").lower()
        if measure not in MEASURES:
            hint = f"use one of {', '.join(MEASURES)}"
            raise table.fail("measure", f"unknown measure {entry['measure']!r}", hint)
        change = table.texts("change", ())
        if len(change) != 2:
            raise table.fail("change", f"expected [from, to], got {list(change)}")
        start, end = (_declared(table, "change", v, visits) for v in change)
        if start == end:
            raise table.fail("change", f"from and to are both {start!r}")
        endpoint = Endpoint(measure, (start, end))
        if endpoint in found:
            raise table.fail("measure", f"{endpoint.label} is listed twice")
        found.append(endpoint)
    return tuple(found)


def _responder(table: _Table, visits: Visits) -> ResponderRule:
    table.only("visit", "baseline", "below", "diary_fall")
    default = ResponderRule()
    below = table.table("below")
    for measure in below.data:
        if measure.lower() not in MEASURES:
            raise below.fail(measure, "unknown measure", f"use one of {', '.join(MEASURES)}")
    thresholds = {
        m.lower(): below.number(m, 0.0, 0.0, math.inf, "a positive threshold") for m in below.data
    }
    try:
        return ResponderRule(
            visit=table.visit("visit", default.visit, visits),
            baseline=table.visit("baseline", default.baseline, visits),
            below=thresholds if "below" in table.data else dict(default.below),
            diary_fall=table.number("diary_fall", default.diary_fall, 0.0, 1.0, "0.5 = halved"),
        )
    except ValueError as exc:  # the rule's own checks (a threshold of inf, say)
        raise table.fail("below", str(exc)) from None


def _type_name(value: object) -> str:
    names = {str: "string", bool: "boolean", int: "integer", float: "number", list: "list"}
    return names.get(type(value), "table" if isinstance(value, dict) else type(value).__name__)
