"""The catalog: tools, materials, machines and palettes with the physics the scorer reads.

The catalog is a versioned YAML file (``engine/data/catalog.yaml`` ships with the engine; the
Django side may pass another path from ``RMOS_CATALOG_PATH``). :func:`load_catalog` validates it
completely and raises one :class:`CatalogError` listing every problem, each naming the file, the
entry and the field. A loaded :class:`Catalog` is immutable, so it is safe to cache and share.

An id missing from the catalog is not an error: :meth:`Catalog.tool`, :meth:`Catalog.material`
and :meth:`Catalog.machine` return the catalog's ``defaults`` entry and a warning naming the id.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar

import yaml

from engine.context import ID_MAX_LENGTH
from engine.profile import PALETTE_KEY_MAX

DEFAULT_CATALOG_PATH = Path(__file__).resolve().parent / "data" / "catalog.yaml"
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
TOOL_KINDS: tuple[str, ...] = ("saw", "router", "laser")
MATERIAL_KINDS: tuple[str, ...] = ("wood", "shell")
MACHINE_CLASSES: tuple[str, ...] = ("prototype", "production")
DEFAULT_ENTRY_ID = "default"


@dataclass(frozen=True)
class Tool:
    id: str
    name: str
    kind: str
    kerf_mm: float
    min_feature_mm: float
    angled_cuts: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "kerf_mm": self.kerf_mm,
            "min_feature_mm": self.min_feature_mm,
            "angled_cuts": self.angled_cuts,
        }


@dataclass(frozen=True)
class Material:
    id: str
    name: str
    kind: str
    min_strip_mm: float
    brittleness: float

    @property
    def shell(self) -> bool:
        return self.kind == "shell"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "shell": self.shell,
            "min_strip_mm": self.min_strip_mm,
            "brittleness": self.brittleness,
        }


@dataclass(frozen=True)
class Machine:
    id: str
    name: str
    machine_class: str  # "class" in YAML and JSON
    tolerance_mm: float
    max_rings: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "class": self.machine_class,
            "tolerance_mm": self.tolerance_mm,
            "max_rings": self.max_rings,
        }


Entry = TypeVar("Entry", Tool, Material, Machine)


class Lookup(NamedTuple, Generic[Entry]):
    """A catalog entry, and a warning when the id was unknown and the default stands in."""

    entry: Entry
    warning: str | None


class CatalogProblem(NamedTuple):
    entry: str  # e.g. "tools['saw:x']", "palettes['warm_woods']", "(top level)"
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.entry}.{self.field}: {self.message}" if self.field else f"{self.entry}: {self.message}"


class CatalogError(Exception):
    """The catalog file cannot be used; ``problems`` lists every reason."""

    def __init__(self, path: Path | str, problems: list[CatalogProblem]):
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"invalid catalog {self.path}:\n{lines}")


@dataclass(frozen=True, eq=False)
class Catalog:
    version: int
    revision: str
    tools: Mapping[str, Tool]
    materials: Mapping[str, Material]
    machines: Mapping[str, Machine]
    palettes: Mapping[str, tuple[str, ...]]
    default_tool: Tool
    default_material: Material
    default_machine: Machine
    source: str

    def palette_keys(self) -> tuple[str, ...]:
        return tuple(self.palettes)

    def tool(self, tool_id: str) -> Lookup[Tool]:
        return _lookup(self.tools, tool_id, self.default_tool, "tool_id")

    def material(self, material_id: str) -> Lookup[Material]:
        return _lookup(self.materials, material_id, self.default_material, "material_id")

    def machine(self, machine_id: str) -> Lookup[Machine]:
        return _lookup(self.machines, machine_id, self.default_machine, "machine_id")

    def palette_materials(self, palette_key: str) -> tuple[str, ...]:
        """Material ids a profile with ``palette_key`` may use; ``''`` means every material.

        Raises ``KeyError`` for a palette this catalog does not have: a generator must not
        guess which materials such a profile meant.
        """
        if not palette_key:
            return tuple(self.materials)
        return self.palettes[palette_key]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in file order (``GET /api/rmos/ai/catalog``)."""
        return {
            "version": self.version,
            "catalog_revision": self.revision,
            "tools": [tool.to_dict() for tool in self.tools.values()],
            "materials": [material.to_dict() for material in self.materials.values()],
            "machines": [machine.to_dict() for machine in self.machines.values()],
            "palettes": [{"key": key, "material_keys": list(members)} for key, members in self.palettes.items()],
            "defaults": {
                "tool": self.default_tool.to_dict(),
                "material": self.default_material.to_dict(),
                "machine": self.default_machine.to_dict(),
            },
        }


def _lookup(entries: Mapping[str, Entry], entry_id: str, default: Entry, field: str) -> Lookup[Entry]:
    found = entries.get(entry_id)
    if found is not None:
        return Lookup(found, None)
    return Lookup(default, f"unknown {field} {entry_id!r}: not in the catalog, using defaults ({default.name})")


# --- loading -------------------------------------------------------------------------------

_cache: dict[Path, tuple[tuple[int, int], Catalog]] = {}
_cache_lock = threading.Lock()


def load_catalog(path: Path | None = None) -> Catalog:
    """Load and validate the catalog at ``path`` (``None``: the shipped file).

    Results are cached per path and reloaded when the file's modification time or size changes.
    """
    resolved = Path(path if path is not None else DEFAULT_CATALOG_PATH).resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise CatalogError(resolved, [CatalogProblem("(file)", "", f"cannot be read: {exc.strerror}")]) from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(resolved)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    try:
        text = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(resolved, [CatalogProblem("(file)", "", f"cannot be read: {exc}")]) from exc
    catalog = parse_catalog(text, source=str(resolved))
    with _cache_lock:
        _cache[resolved] = (stamp, catalog)
    return catalog


def parse_catalog(text: str, *, source: str = "<string>") -> Catalog:
    """Validate catalog YAML text; raise :class:`CatalogError` naming every problem."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogError(source, [CatalogProblem("(file)", "", f"is not valid YAML: {exc}")]) from exc
    except RecursionError:
        raise CatalogError(source, [CatalogProblem("(file)", "", "is nested too deeply to read")]) from None
    except ValueError as exc:  # PyYAML lets these through, e.g. an integer of thousands of digits
        raise CatalogError(source, [CatalogProblem("(file)", "", f"has a value that cannot be read: {exc}")]) from exc
    return _Parser(source).catalog(document)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses a key given twice in one mapping instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                continue  # other keys are the schema's business (or SafeLoader's, if unhashable)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping)

Check = Callable[[Any], "tuple[Any, str | None]"]


def _text(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, f"must be non-empty text, got {value!r}"
    return value, None


def _flag(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, bool):
        return None, f"must be true or false, got {value!r}"
    return value, None


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if value not in choices:
            return None, f"must be one of {', '.join(choices)}; got {value!r}"
        return value, None

    return check


def _number(low: float, high: float, *, low_open: bool) -> Check:
    """A real number in (low, high] when ``low_open`` else [low, high]."""
    low_text = f"greater than {low}" if low_open else f"at least {low}"

    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None, f"must be a number, got {value!r}"
        if value < low or (low_open and value == low) or value > high:
            return None, f"must be {low_text} and at most {high}, got {value!r}"
        return float(value), None

    return check


def _whole(low: int, high: int) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"must be a whole number, got {value!r}"
        if not low <= value <= high:
            return None, f"must be between {low} and {high}, got {value!r}"
        return value, None

    return check


# Field -> check, in the order the dataclass takes them; the YAML key is the field name except
# for the machine's "class".
TOOL_SCHEMA: dict[str, Check] = {
    "name": _text,
    "kind": _one_of(TOOL_KINDS),
    "kerf_mm": _number(0, 5, low_open=True),
    "min_feature_mm": _number(0, 10, low_open=True),
    "angled_cuts": _flag,
}
MATERIAL_SCHEMA: dict[str, Check] = {
    "name": _text,
    "kind": _one_of(MATERIAL_KINDS),
    "min_strip_mm": _number(0, 10, low_open=True),
    "brittleness": _number(0, 1, low_open=False),
}
MACHINE_SCHEMA: dict[str, Check] = {
    "name": _text,
    "class": _one_of(MACHINE_CLASSES),
    "tolerance_mm": _number(0, 2, low_open=True),
    "max_rings": _whole(1, 100),
}
SECTIONS: dict[str, tuple[type, dict[str, Check]]] = {
    "tools": (Tool, TOOL_SCHEMA),
    "materials": (Material, MATERIAL_SCHEMA),
    "machines": (Machine, MACHINE_SCHEMA),
}
DEFAULT_SECTIONS = {"tool": "tools", "material": "materials", "machine": "machines"}
TOP_LEVEL_KEYS = ("version", "catalog_revision", "defaults", "tools", "materials", "machines", "palettes")


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[CatalogProblem] = []

    def problem(self, entry: str, field: str, message: str) -> None:
        self.problems.append(CatalogProblem(entry, field, message))

    def catalog(self, document: Any) -> Catalog:
        top = "(top level)"
        if not isinstance(document, dict):
            problem = CatalogProblem(top, "", f"must be a mapping, got {type(document).__name__}")
            raise CatalogError(self.source, [problem])
        for key in document:
            if key not in TOP_LEVEL_KEYS:
                self.problem(top, str(key), f"is not a catalog key; known keys: {', '.join(TOP_LEVEL_KEYS)}")
        for key in TOP_LEVEL_KEYS:
            if key not in document:
                self.problem(top, key, "is required")

        version = document.get("version")
        if "version" in document and (isinstance(version, bool) or version not in SUPPORTED_VERSIONS):
            supported = ", ".join(map(str, SUPPORTED_VERSIONS))
            self.problem(top, "version", f"must be a supported catalog version ({supported}), got {version!r}")
        revision = document.get("catalog_revision")
        if "catalog_revision" in document and (not isinstance(revision, str) or not revision.strip()):
            self.problem(top, "catalog_revision", f"must be non-empty text, got {revision!r}")

        sections = {name: self.section(name, document.get(name)) for name in SECTIONS}
        defaults = self.defaults(document.get("defaults"))
        # A palette may name a material whose entry has its own problems: that is reported once,
        # at the material, not again at every palette.
        raw_materials = document.get("materials")
        declared = set(raw_materials) if isinstance(raw_materials, dict) else set()
        palettes = self.palettes(document.get("palettes"), declared)

        if self.problems:
            raise CatalogError(self.source, self.problems)
        return Catalog(
            version=version,
            revision=revision,
            tools=MappingProxyType(sections["tools"]),
            materials=MappingProxyType(sections["materials"]),
            machines=MappingProxyType(sections["machines"]),
            palettes=MappingProxyType(palettes),
            default_tool=defaults["tool"],
            default_material=defaults["material"],
            default_machine=defaults["machine"],
            source=self.source,
        )

    def section(self, name: str, raw: Any) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict) or not raw:
            self.problem("(top level)", name, "must be a non-empty mapping of id to entry")
            return {}
        entries = {}
        for entry_id, fields in raw.items():
            label = f"{name}[{entry_id!r}]"
            if not isinstance(entry_id, str) or not entry_id.strip() or len(entry_id) > ID_MAX_LENGTH:
                self.problem(label, "", f"id must be non-empty text of at most {ID_MAX_LENGTH} characters")
                continue
            entry = self.entry(name, label, entry_id, fields)
            if entry is not None:
                entries[entry_id] = entry
        return entries

    def defaults(self, raw: Any) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem("(top level)", "defaults", "must be a mapping with tool, material and machine")
            return {}
        for key in raw:
            if key not in DEFAULT_SECTIONS:
                self.problem("defaults", str(key), f"is not a defaults key; known keys: {', '.join(DEFAULT_SECTIONS)}")
        found = {}
        for key, section in DEFAULT_SECTIONS.items():
            if key not in raw:
                self.problem("defaults", key, "is required")
                continue
            entry = self.entry(section, f"defaults.{key}", DEFAULT_ENTRY_ID, raw[key])
            if entry is not None:
                found[key] = entry
        return found

    def entry(self, section: str, label: str, entry_id: str, raw: Any) -> Any:
        cls, schema = SECTIONS[section]
        if not isinstance(raw, dict):
            self.problem(label, "", f"must be a mapping of {', '.join(schema)}")
            return None
        for key in raw:
            if key not in schema:
                self.problem(label, str(key), f"is not a field of {section}; known fields: {', '.join(schema)}")
        values = []
        valid = True
        for field, check in schema.items():
            if field not in raw:
                self.problem(label, field, "is required")
                valid = False
                continue
            value, message = check(raw[field])
            if message:
                self.problem(label, field, message)
                valid = False
            values.append(value)
        return cls(entry_id, *values) if valid else None

    def palettes(self, raw: Any, materials: set[Any]) -> dict[str, tuple[str, ...]]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem("(top level)", "palettes", "must be a mapping of palette_key to a list of material ids")
            return {}
        found = {}
        for key, members in raw.items():
            label = f"palettes[{key!r}]"
            if not isinstance(key, str) or not key.strip() or len(key) > PALETTE_KEY_MAX:
                self.problem(label, "", f"key must be non-empty text of at most {PALETTE_KEY_MAX} characters")
                continue
            if not isinstance(members, list) or not members:
                self.problem(label, "", "must be a non-empty list of material ids")
                continue
            ok = True
            for index, member in enumerate(members):
                if not isinstance(member, str) or member not in materials:
                    self.problem(label, f"[{index}]", f"{member!r} is not a material in this catalog")
                    ok = False
                elif members.index(member) != index:
                    self.problem(label, f"[{index}]", f"{member!r} is listed twice")
                    ok = False
            if ok:
                found[key] = tuple(members)
        return found


__all__ = [
    "DEFAULT_CATALOG_PATH",
    "Catalog",
    "CatalogError",
    "CatalogProblem",
    "Lookup",
    "Machine",
    "Material",
    "Tool",
    "load_catalog",
    "parse_catalog",
]
