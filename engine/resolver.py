"""Which constraint profile a context uses, and why (DESIGN.md §3, "Resolution rule").

A rule sets any of five fields; a blank field ('') is not set and matches anything:

==================  =========================  ===================================
rule field          compared with context      how
==================  =========================  ===================================
``tool_pattern``     ``tool_id``               exact id, or a glob (``saw:*``)
``material_pattern`` ``material_id``           exact id, or a glob
``machine_pattern``  ``machine_id``            exact id, or a glob
``workflow_mode``    ``workflow_mode``         exact
``geometry_engine``  ``geometry_engine``       exact
==================  =========================  ===================================

A pattern is a glob if and only if it contains ``*``, ``?`` or ``[``; globs follow
:func:`fnmatch.fnmatchcase`. All matching is case-sensitive.

The algorithm:

1. A rule *matches* when every field it sets matches the context. A rule is *eligible* when it
   matches and is enabled.
2. Among eligible rules the winner is the greatest by
   ``(fields set, exact fields set, -priority, -id)``: the most specific rule wins, where
   specificity is the number of fields set and then the number of those that are exact (not
   globs), compared in that order; ties go to the lower ``priority`` and then to the lower id.
3. With no eligible rule, the context gets ``fallback_profile`` (``default``).

:func:`resolve` returns a :class:`Resolution` whose ``explanation`` lists every rule considered
(the matching enabled rules best first, then the others by id, disabled ones included), each
field's result, and why the winner beat each runner-up. Resolution is
one pass over the rules plus a sort of the eligible ones; glob patterns are compiled once and
cached, so hundreds of rules resolve in well under a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import translate
from functools import lru_cache
from typing import Any

from engine.context import Context

GLOB_CHARACTERS = frozenset("*?[")

#: (rule attribute, context attribute), in the order the explanation lists them.
RULE_FIELDS: tuple[tuple[str, str], ...] = (
    ("tool_pattern", "tool_id"),
    ("material_pattern", "material_id"),
    ("machine_pattern", "machine_id"),
    ("workflow_mode", "workflow_mode"),
    ("geometry_engine", "geometry_engine"),
)
#: Rule attributes that may hold a glob; the other fields are always compared exactly.
GLOB_FIELDS = frozenset({"tool_pattern", "material_pattern", "machine_pattern"})


@dataclass(frozen=True)
class RuleData:
    id: int
    name: str
    tool_pattern: str
    material_pattern: str
    machine_pattern: str
    workflow_mode: str
    geometry_engine: str
    priority: int
    enabled: bool
    profile_name: str


@dataclass(frozen=True)
class Resolution:
    profile_name: str
    rule_id: int | None
    rule_name: str
    fallback_used: bool
    explanation: dict[str, Any]


#: The profile a context gets when no rule matches it (DESIGN.md §3, "Resolution rule").
FALLBACK_PROFILE = "default"


def is_glob(pattern: str) -> bool:
    return not GLOB_CHARACTERS.isdisjoint(pattern)


def glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a well-formed glob, or None. fnmatch reads an unclosed ``[`` as a
    literal character, so ``saw:[`` would silently match no tool at all."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            end = pattern.find("]", j)
            if end < 0:
                return f"the '[' at position {i + 1} is never closed: a set of characters is written [abc] or [a-z], a literal '[' as [[]"
            i = end
        i += 1
    return None


@lru_cache(maxsize=4096)
def _compiled_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(translate(pattern))


def pattern_matches(pattern: str, value: str, *, glob_allowed: bool = True) -> bool:
    """Whether a rule field matches a context value (blank matches anything)."""
    if not pattern:
        return True
    if glob_allowed and is_glob(pattern):
        return _compiled_glob(pattern).match(value) is not None
    return pattern == value


class _Evaluated:
    """One rule against one context: per-field results and its rank key."""

    __slots__ = ("rule", "fields", "matched", "specificity", "rank_key")

    def __init__(self, rule: RuleData, context: Context):
        self.rule = rule
        self.fields: list[dict[str, Any]] = []
        matched = True
        set_count = exact_count = 0
        for attribute, context_field in RULE_FIELDS:
            pattern = getattr(rule, attribute)
            value = getattr(context, context_field)
            if not pattern:
                kind, ok = "blank", True
            else:
                glob = attribute in GLOB_FIELDS and is_glob(pattern)
                kind = "glob" if glob else "exact"
                ok = pattern_matches(pattern, value, glob_allowed=glob)
                set_count += 1
                exact_count += not glob
            matched = matched and ok
            self.fields.append(
                {"field": context_field, "pattern": pattern, "value": value, "kind": kind, "matched": ok}
            )
        self.matched = matched
        self.specificity = (set_count, exact_count)
        # Greatest wins: more fields set, then more exact fields, then lower priority, then lower id.
        self.rank_key = (set_count, exact_count, -rule.priority, -rule.id)

    @property
    def eligible(self) -> bool:
        return self.matched and self.rule.enabled

    def label(self) -> str:
        return f"rule #{self.rule.id} {self.rule.name!r}"


def resolve(context: Context, rules: Iterable[RuleData], *, fallback_profile: str = FALLBACK_PROFILE) -> Resolution:
    """Pick the profile for ``context``; see the module docstring for the algorithm."""
    evaluated = [_Evaluated(rule, context) for rule in rules]
    eligible = sorted((e for e in evaluated if e.eligible), key=lambda e: e.rank_key, reverse=True)
    winner = eligible[0] if eligible else None

    rules_out = []
    for rank, e in enumerate(eligible, start=1):
        if e is winner:
            rules_out.append(_rule_entry(e, rank, "winner", "wins"))
        else:
            reason = f"matches, but {winner.label()} wins: {_why_won(winner, e)}"  # type: ignore[union-attr, arg-type]
            rules_out.append(_rule_entry(e, rank, "outranked", reason))
    for e in sorted((e for e in evaluated if not e.eligible), key=lambda e: e.rule.id):
        if e.matched:
            rules_out.append(_rule_entry(e, None, "disabled", "matches, but the rule is disabled"))
        else:
            rules_out.append(_rule_entry(e, None, "no_match", _why_no_match(e)))

    if winner is None:
        summary = (
            f"no enabled rule matches this context, so the fallback profile {fallback_profile!r} is used"
            if evaluated
            else f"there are no rules, so the fallback profile {fallback_profile!r} is used"
        )
        winner_out = None
        profile_name, rule_id, rule_name = fallback_profile, None, ""
    else:
        runners_up = eligible[1:]
        if runners_up:
            # The runner-up that came closest explains the decision; "beats" lists them all.
            summary = f"{winner.label()} wins: {_why_won(winner, runners_up[0])}"
            if len(runners_up) > 1:
                summary += f", and it outranks {_plural(len(runners_up) - 1, 'more matching rule')}"
        else:
            summary = f"{winner.label()} is the only enabled rule that matches"
        winner_out = {
            "id": winner.rule.id,
            "name": winner.rule.name,
            "profile_name": winner.rule.profile_name,
            "priority": winner.rule.priority,
            "specificity": {"fields_set": winner.specificity[0], "exact_fields": winner.specificity[1]},
            "beats": [{"id": e.rule.id, "name": e.rule.name, "reason": _why_won(winner, e)} for e in runners_up],
        }
        profile_name, rule_id, rule_name = winner.rule.profile_name, winner.rule.id, winner.rule.name

    explanation = {
        "context": context.as_dict(),
        "profile_name": profile_name,
        "rule_id": rule_id,
        "rule_name": rule_name,
        "fallback_used": winner is None,
        "fallback_profile": fallback_profile,
        "summary": summary,
        "winner": winner_out,
        "rules_considered": len(evaluated),
        "rules_matched": len(eligible),
        "rules": rules_out,
    }
    return Resolution(profile_name, rule_id, rule_name, winner is None, explanation)


def _why_won(winner: _Evaluated, other: _Evaluated) -> str:
    (w_set, w_exact), (o_set, o_exact) = winner.specificity, other.specificity
    if w_set != o_set:
        return f"more specific than {other.label()} ({_plural(w_set, 'field')} set vs {o_set})"
    if w_exact != o_exact:
        return f"more specific than {other.label()} (both set {_plural(w_set, 'field')}; {w_exact} exact vs {o_exact})"
    w_priority, o_priority = winner.rule.priority, other.rule.priority
    if w_priority != o_priority:
        return f"same specificity as {other.label()}, lower priority {w_priority} < {o_priority}"
    return (
        f"tie with {other.label()} on specificity and priority {w_priority}, "
        f"lower id {winner.rule.id} < {other.rule.id}"
    )


def _rule_entry(e: _Evaluated, rank: int | None, outcome: str, reason: str) -> dict[str, Any]:
    return {
        "id": e.rule.id,
        "name": e.rule.name,
        "profile_name": e.rule.profile_name,
        "priority": e.rule.priority,
        "enabled": e.rule.enabled,
        "matched": e.matched,
        "specificity": {"fields_set": e.specificity[0], "exact_fields": e.specificity[1]},
        "rank": rank,
        "outcome": outcome,
        "fields": e.fields,
        "summary": f"{e.label()} -> profile {e.rule.profile_name!r}: {reason}",
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _why_no_match(e: _Evaluated) -> str:
    failed = [
        f"{f['field']} {f['value']!r} does not match {f['kind']} {f['pattern']!r}" for f in e.fields if not f["matched"]
    ]
    disabled = "" if e.rule.enabled else " (and the rule is disabled)"
    return "does not match: " + "; ".join(failed) + disabled


__all__ = ["GLOB_FIELDS", "RULE_FIELDS", "Resolution", "RuleData", "is_glob", "pattern_matches", "resolve"]


def resolution_changes(
    contexts: Iterable[Context],
    before: Iterable[RuleData],
    after: Iterable[RuleData],
    *,
    fallback_profile: str = FALLBACK_PROFILE,
) -> list[tuple[Context, Resolution, Resolution]]:
    """The contexts whose profile differs between two sets of rules, each with both resolutions
    (a rule's blast radius: which traffic an edit to the rules would send elsewhere)."""
    before, after = list(before), list(after)
    changed = []
    for context in contexts:
        old = resolve(context, before, fallback_profile=fallback_profile)
        new = resolve(context, after, fallback_profile=fallback_profile)
        if old.profile_name != new.profile_name:
            changed.append((context, old, new))
    return changed
