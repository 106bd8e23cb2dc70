"""The canonical YAML file of profiles and rules: rendering, parsing with line numbers, safe writing.

Format (``version: 1``)::

    version: 1
    profiles:
      <name>:                    # profiles sorted by name, fields in canonical order
        description: "…"
        min_rings: 1
        min_ring_width_mm: 0.50  # widths always with two decimals
        …
        protected: false         # direct edits refused: changes go through change requests
        required_approvals: 1    # approvals a change request needs
    rules:                       # rules sorted by name
      - name: saw-tools
        match: {tool_id: "saw:*"}
        profile: thin_saw
        priority: 50
        enabled: true
        note: "…"

Rendering is deterministic (fixed order, fixed number format, JSON-style quoted strings), so an
export with no change is byte-identical and a one-field change is a one-line diff. Parsing uses
PyYAML's safe loader, extended only to remember line numbers and to refuse duplicate keys,
anchors and aliases (the format has none; nested aliases expand a few KB into gigabytes, the
"billion laughs"), and files over :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import reprlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from engine.context import CONTEXT_FIELDS
from engine.profile import CONSTRAINT_FIELDS, WIDTH_FIELDS

FORMAT_VERSION = 1
#: The starter file is 4 KB; a thousand profiles with the longest descriptions fit in 1 MiB.
MAX_FILE_BYTES = 1024 * 1024
TOP_LEVEL_KEYS = ("version", "profiles", "rules")
RULE_KEYS = ("name", "match", "profile", "priority", "enabled", "note")
MATCH_KEYS = CONTEXT_FIELDS
#: Written after the constraint fields of every profile; a file without them (older than change
#: requests) keeps the database's protection rather than dropping it.
GOVERNANCE_DEFAULTS: dict[str, Any] = {"protected": False, "required_approvals": 1}
PROFILE_KEYS = CONSTRAINT_FIELDS + tuple(GOVERNANCE_DEFAULTS)
HEADER = (
    "# RMOS constraint profiles and resolution rules: the canonical file.\n"
    "# Written by the product after every change (manage.py export_profiles); keep it in git.\n"
    "# To change it by hand: edit, then `manage.py import_profiles --dry-run` and `import_profiles`.\n"
)


# ---------------------------------------------------------------------------------------------
# Rendering


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot render {value!r}")


def render(profiles: dict[str, dict[str, Any]], rules: list[dict[str, Any]]) -> str:
    """The canonical text for these profiles (name -> constraint values) and rules."""
    lines = [HEADER.rstrip("\n"), f"version: {FORMAT_VERSION}"]
    if profiles:
        lines.append("profiles:")
        for name in sorted(profiles):
            lines.append(f"  {name}:")
            values = profiles[name]
            for key in CONSTRAINT_FIELDS:
                value = values[key]
                if key in WIDTH_FIELDS:
                    value = Decimal(value)
                lines.append(f"    {key}: {_scalar(value)}")
            for key, default in GOVERNANCE_DEFAULTS.items():
                lines.append(f"    {key}: {_scalar(values.get(key, default))}")
    else:
        lines.append("profiles: {}")
    if rules:
        lines.append("rules:")
        for rule in sorted(rules, key=lambda r: r["name"]):
            lines.append(f"  - name: {_scalar(rule['name'])}")
            match = {k: rule["match"][k] for k in MATCH_KEYS if rule["match"].get(k)}
            if match:
                lines.append("    match:")
                lines.extend(f"      {k}: {_scalar(v)}" for k, v in match.items())
            else:
                lines.append("    match: {}")
            lines.append(f"    profile: {_scalar(rule['profile'])}")
            lines.append(f"    priority: {_scalar(rule['priority'])}")
            lines.append(f"    enabled: {_scalar(rule['enabled'])}")
            lines.append(f"    note: {_scalar(rule['note'])}")
    else:
        lines.append("rules: []")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class LineProblem:
    line: int | None
    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return (
            f"{where}{self.path}: {self.message} ({self.rule})" if self.path else f"{where}{self.message} ({self.rule})"
        )


class CanonicalFileError(Exception):
    def __init__(self, problems: list[LineProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class _Mapping(dict):
    """A dict that remembers the line of each key (1-based) and of itself."""

    line: int = 0
    key_lines: dict


class _AliasRefused(yaml.MarkedYAMLError):
    pass


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxdict = 3
_SHORT.maxlevel = 2


def shown(value: Any) -> str:
    """``repr(value)``, cut short without building the whole of it: safe in any message."""
    return _SHORT.repr(value)


class _LineLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasRefused(
                problem="anchors (&name) and aliases (*name) are not part of the canonical format; "
                "write each value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:  # PyYAML lets these through: an integer of thousands of digits, month 13
            reason = str(exc).split("; use sys.set_int_max_str_digits()")[0]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {reason}", node.start_mark
            ) from None

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping = _Mapping()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
                ) from None
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)


@dataclass
class ParsedProfile:
    name: str
    values: dict[str, Any]
    line: int
    field_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class ParsedRule:
    values: dict[str, Any]  # name, match (dict), profile, priority, enabled, note, as written
    line: int
    field_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class ParsedFile:
    profiles: dict[str, ParsedProfile]
    rules: list[ParsedRule]


def parse(text: str) -> ParsedFile:
    """Parse the canonical structure; shape errors (unknown keys, wrong nesting) carry lines.

    Field values are returned as written; their rules are checked by the services, which map
    their problems back to lines through ``field_lines``.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise CanonicalFileError([LineProblem(None, "", "max_size", too_large_message(size))])
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except _AliasRefused as exc:
        raise CanonicalFileError([LineProblem(exc.problem_mark.line + 1, "", "anchor_alias", exc.problem)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise CanonicalFileError([LineProblem(line, "", "yaml_syntax", f"{exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise CanonicalFileError([LineProblem(None, "", "yaml_syntax", str(exc))]) from None
    except RecursionError:
        raise CanonicalFileError(
            [LineProblem(None, "", "yaml_syntax", "the file is nested too deeply to read")]
        ) from None

    problems: list[LineProblem] = []
    if not isinstance(data, _Mapping):
        raise CanonicalFileError(
            [LineProblem(1, "", "structure", "the file must be a mapping with version, profiles and rules")]
        )
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                LineProblem(
                    data.key_lines[key],
                    str(key),
                    "unknown_key",
                    f"unknown top-level key; allowed: {', '.join(TOP_LEVEL_KEYS)}",
                )
            )
    if data.get("version") != FORMAT_VERSION:
        problems.append(
            LineProblem(
                data.key_lines.get("version", 1),
                "version",
                "format_version",
                f"must be {FORMAT_VERSION}, got {data.get('version')!r}",
            )
        )

    profiles: dict[str, ParsedProfile] = {}
    raw_profiles = data.get("profiles", {})
    if raw_profiles is None:
        raw_profiles = {}
    if not isinstance(raw_profiles, dict):
        problems.append(
            LineProblem(
                data.key_lines.get("profiles"), "profiles", "structure", "must be a mapping of profile name to fields"
            )
        )
    else:
        for name, values in raw_profiles.items():
            line = raw_profiles.key_lines[name]
            if not isinstance(values, dict):
                problems.append(
                    LineProblem(line, f"profiles.{name}", "structure", "must be a mapping of field to value")
                )
                continue
            for key in values:
                if key not in PROFILE_KEYS:
                    problems.append(
                        LineProblem(
                            values.key_lines[key],
                            f"profiles.{name}.{key}",
                            "unknown_key",
                            f"unknown profile field; allowed: {', '.join(PROFILE_KEYS)}",
                        )
                    )
                elif isinstance(values[key], (dict, list)):
                    problems.append(_not_a_scalar(values.key_lines[key], f"profiles.{name}.{key}"))
            profiles[str(name)] = ParsedProfile(str(name), dict(values), line, dict(values.key_lines))

    rules: list[ParsedRule] = []
    raw_rules = data.get("rules", [])
    if raw_rules is None:
        raw_rules = []
    if not isinstance(raw_rules, list):
        problems.append(LineProblem(data.key_lines.get("rules"), "rules", "structure", "must be a list of rules"))
    else:
        for index, rule in enumerate(raw_rules):
            where = f"rules[{index}]"
            if not isinstance(rule, dict):
                problems.append(LineProblem(None, where, "structure", "each rule must be a mapping"))
                continue
            for key in rule:
                if key not in RULE_KEYS:
                    problems.append(
                        LineProblem(
                            rule.key_lines[key],
                            f"{where}.{key}",
                            "unknown_key",
                            f"unknown rule key; allowed: {', '.join(RULE_KEYS)}",
                        )
                    )
            match = rule.get("match", {})
            if match is None:
                match = {}
            if not isinstance(match, dict):
                problems.append(
                    LineProblem(rule.key_lines.get("match"), f"{where}.match", "structure", "must be a mapping")
                )
                match = {}
            else:
                for key in match:
                    if key not in MATCH_KEYS:
                        problems.append(
                            LineProblem(
                                match.key_lines[key],
                                f"{where}.match.{key}",
                                "unknown_key",
                                f"unknown match field; allowed: {', '.join(MATCH_KEYS)}",
                            )
                        )
            for key in RULE_KEYS:
                if key != "match" and isinstance(rule.get(key), (dict, list)):
                    problems.append(_not_a_scalar(rule.key_lines[key], f"{where}.{key}"))
            for key, value in match.items():
                if isinstance(value, (dict, list)):
                    problems.append(_not_a_scalar(match.key_lines[key], f"{where}.match.{key}"))
            field_lines = dict(rule.key_lines)
            if isinstance(match, _Mapping):
                field_lines.update({f"match.{k}": v for k, v in match.key_lines.items()})
            values = dict(rule)
            values["match"] = dict(match)
            rules.append(ParsedRule(values, rule.line, field_lines))
    if problems:
        raise CanonicalFileError(problems)
    return ParsedFile(profiles, rules)


def _not_a_scalar(line: int, path: str) -> LineProblem:
    # Said without the value: a nested value can be any size, and a message must not be.
    return LineProblem(line, path, "structure", "must be a single value, not a list or mapping")


def too_large_message(size: int | None) -> str:
    size_text = f"is {size:,} bytes" if size is not None else "is too large"
    return f"the file {size_text}; the limit is {MAX_FILE_BYTES:,} bytes (the canonical file of every profile)"


# ---------------------------------------------------------------------------------------------
# Writing


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every process on this host that writes ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_stale_temp_files(path: Path) -> int:
    """Delete temp files a crashed writer left next to ``path``. Call only under ``file_lock``."""
    removed = 0
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed += 1
    return removed


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
