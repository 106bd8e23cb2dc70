from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.catalog import DEFAULT_CATALOG_PATH, CatalogError, load_catalog, parse_catalog

TOOLS = [
    "saw:jeweler-0.25",
    "saw:slitting-0.5",
    "saw:table-1.0",
    "router:downcut-0.8",
    "router:upcut-1.5",
    "router:vbit-60",
    "laser:co2-40w",
    "laser:fiber-20w",
]
MATERIALS = [
    "wood:maple-flamed",
    "wood:maple-hard",
    "wood:ebony",
    "wood:rosewood",
    "wood:mahogany",
    "wood:walnut",
    "wood:holly",
    "wood:padauk",
    "wood:spruce",
    "wood:cedar",
    "shell:abalone-paua",
    "shell:abalone-green",
    "shell:mother-of-pearl",
]
MACHINES = ["proto:desktop-cnc", "proto:hobby-laser", "prod:vmc-3axis", "prod:laser-cell"]
PALETTES = {
    "classic_bw": ("wood:ebony", "wood:maple-hard", "wood:holly"),
    "warm_woods": ("wood:rosewood", "wood:mahogany", "wood:walnut", "wood:padauk", "wood:maple-hard"),
    "maple_contrast": ("wood:maple-flamed", "wood:maple-hard", "wood:ebony", "wood:walnut"),
    "shell_premium": ("shell:abalone-paua", "shell:mother-of-pearl", "shell:abalone-green", "wood:ebony"),
}


def shipped_document() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_CATALOG_PATH.read_text())


def write_variant(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    document = shipped_document()
    change(document)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert str(path.resolve()) in str(caught.value)
    return [str(problem) for problem in caught.value.problems]


class TestShippedCatalog:
    def test_has_the_required_ids_and_palettes(self, catalog):
        assert catalog.version == 1
        assert catalog.revision
        assert set(TOOLS) <= set(catalog.tools)
        assert set(MATERIALS) <= set(catalog.materials)
        assert set(MACHINES) <= set(catalog.machines)
        assert dict(catalog.palettes) == PALETTES
        assert catalog.palette_keys() == tuple(PALETTES)

    def test_is_physically_sensible(self, catalog):
        woods = [m for m in catalog.materials.values() if not m.shell]
        shells = [m for m in catalog.materials.values() if m.shell]
        assert {m.id for m in shells} == {"shell:abalone-paua", "shell:abalone-green", "shell:mother-of-pearl"}
        assert min(m.brittleness for m in shells) > max(m.brittleness for m in woods)
        assert min(m.min_strip_mm for m in shells) >= max(m.min_strip_mm for m in woods)
        assert all(0.3 <= m.min_strip_mm <= 1.0 for m in catalog.materials.values())
        lasers = [t for t in catalog.tools.values() if t.kind == "laser"]
        cutters = [t for t in catalog.tools.values() if t.kind != "laser"]
        assert max(t.kerf_mm for t in lasers) < min(t.kerf_mm for t in cutters)
        assert catalog.tools["router:upcut-1.5"].min_feature_mm > 0.5
        prototypes = [m for m in catalog.machines.values() if m.machine_class == "prototype"]
        production = [m for m in catalog.machines.values() if m.machine_class == "production"]
        assert min(m.tolerance_mm for m in prototypes) > max(m.tolerance_mm for m in production)
        assert max(m.max_rings for m in prototypes) < min(m.max_rings for m in production)

    def test_to_dict_is_json_ready_and_complete(self, catalog):
        data = json.loads(json.dumps(catalog.to_dict()))
        assert data["version"] == 1 and data["catalog_revision"] == catalog.revision
        assert [t["id"] for t in data["tools"]] == list(catalog.tools)
        assert data["tools"][0] == {
            "id": "saw:jeweler-0.25",
            "name": "Jeweler's saw, 0.25 mm blade",
            "kind": "saw",
            "kerf_mm": 0.25,
            "min_feature_mm": 0.3,
            "angled_cuts": True,
        }
        paua = next(m for m in data["materials"] if m["id"] == "shell:abalone-paua")
        assert paua["shell"] is True and paua["kind"] == "shell"
        assert next(m for m in data["machines"] if m["id"] == "prod:vmc-3axis")["class"] == "production"
        assert {p["key"]: tuple(p["material_keys"]) for p in data["palettes"]} == PALETTES
        assert set(data["defaults"]) == {"tool", "material", "machine"}


class TestLookups:
    def test_known_ids_have_no_warning(self, catalog):
        tool, warning = catalog.tool("laser:co2-40w")
        assert tool.kind == "laser" and warning is None
        assert catalog.material("wood:ebony").warning is None
        assert catalog.machine("prod:laser-cell").entry.max_rings == 24

    @pytest.mark.parametrize(
        ("method", "default_attribute"),
        [("tool", "default_tool"), ("material", "default_material"), ("machine", "default_machine")],
    )
    def test_unknown_id_gives_the_default_and_a_warning_naming_it(self, catalog, method, default_attribute):
        entry, warning = getattr(catalog, method)("acme:mystery-9")
        assert entry == getattr(catalog, default_attribute)
        assert "'acme:mystery-9'" in warning and f"{method}_id" in warning

    def test_lookups_are_case_sensitive(self, catalog):
        assert catalog.tool("SAW:JEWELER-0.25").warning is not None

    def test_palette_materials(self, catalog):
        assert catalog.palette_materials("classic_bw") == PALETTES["classic_bw"]
        assert catalog.palette_materials("") == tuple(catalog.materials)
        with pytest.raises(KeyError):
            catalog.palette_materials("no_such_palette")


class TestValidation:
    def test_unknown_field_names_entry_and_field(self, tmp_path):
        path = write_variant(tmp_path, lambda d: d["tools"]["saw:table-1.0"].update(blade_colour="red"))
        [problem] = problems_of(path)
        assert problem.startswith("tools['saw:table-1.0'].blade_colour: is not a field of tools")

    def test_missing_field(self, tmp_path):
        path = write_variant(tmp_path, lambda d: d["materials"]["wood:ebony"].pop("brittleness"))
        assert problems_of(path) == ["materials['wood:ebony'].brittleness: is required"]

    @pytest.mark.parametrize(
        ("section", "entry", "field", "value", "expected"),
        [
            ("tools", "saw:table-1.0", "kerf_mm", "thin", "must be a number, got 'thin'"),
            ("tools", "saw:table-1.0", "kerf_mm", 0, "must be greater than 0 and at most 5, got 0"),
            ("tools", "saw:table-1.0", "angled_cuts", "yes", "must be true or false"),
            ("tools", "saw:table-1.0", "kind", "chisel", "must be one of saw, router, laser; got 'chisel'"),
            ("materials", "wood:ebony", "brittleness", 1.5, "must be at least 0 and at most 1, got 1.5"),
            ("materials", "wood:ebony", "min_strip_mm", True, "must be a number, got True"),
            ("machines", "prod:vmc-3axis", "max_rings", 2.5, "must be a whole number, got 2.5"),
            ("machines", "prod:vmc-3axis", "class", "hobby", "must be one of prototype, production"),
        ],
    )
    def test_bad_values(self, tmp_path, section, entry, field, value, expected):
        path = write_variant(tmp_path, lambda d: d[section][entry].update({field: value}))
        [problem] = problems_of(path)
        assert problem.startswith(f"{section}[{entry!r}].{field}: {expected}")

    def test_palette_with_unknown_material(self, tmp_path):
        path = write_variant(tmp_path, lambda d: d["palettes"]["classic_bw"].append("wood:unobtainium"))
        assert problems_of(path) == ["palettes['classic_bw'].[3]: 'wood:unobtainium' is not a material in this catalog"]

    def test_palette_listing_a_material_twice(self, tmp_path):
        path = write_variant(tmp_path, lambda d: d["palettes"]["classic_bw"].append("wood:ebony"))
        assert problems_of(path) == ["palettes['classic_bw'].[3]: 'wood:ebony' is listed twice"]

    def test_empty_palette(self, tmp_path):
        path = write_variant(tmp_path, lambda d: d["palettes"].update(empty=[]))
        assert problems_of(path) == ["palettes['empty']: must be a non-empty list of material ids"]

    def test_top_level_keys(self, tmp_path):
        def change(d):
            d["colours"] = {}
            del d["machines"]
            d["version"] = 2

        problems = problems_of(write_variant(tmp_path, change))
        assert (
            "(top level).colours: is not a catalog key; known keys: version, catalog_revision, defaults, tools, materials, machines, palettes"
            in problems
        )
        assert "(top level).machines: is required" in problems
        assert "(top level).version: must be a supported catalog version (1), got 2" in problems

    def test_defaults_are_validated(self, tmp_path):
        path = write_variant(tmp_path, lambda d: d["defaults"]["machine"].update(tolerance_mm=-1))
        [problem] = problems_of(path)
        assert problem.startswith("defaults.machine.tolerance_mm: must be greater than 0")

    def test_every_problem_is_reported_at_once(self, tmp_path):
        def change(d):
            d["tools"]["saw:table-1.0"]["kerf_mm"] = -1
            d["materials"]["wood:holly"]["kind"] = "metal"

        assert len(problems_of(write_variant(tmp_path, change))) == 2

    def test_duplicate_keys_are_refused(self, tmp_path):
        text = DEFAULT_CATALOG_PATH.read_text().replace(
            '  "wood:holly":',
            '  "wood:ebony":\n    name: x\n    kind: wood\n    min_strip_mm: 1\n    brittleness: 0\n  "wood:holly":',
        )
        path = tmp_path / "dup.yaml"
        path.write_text(text)
        [problem] = problems_of(path)
        assert "duplicate key 'wood:ebony'" in problem and "line" in problem

    @pytest.mark.parametrize(
        "text",
        [
            "tools: [unclosed",
            "- just\n- a list\n",
            "tools:\n  ? [a, b]\n  : {}\n",
            "tools: " + "[" * 5000,  # RecursionError before
            "version: " + "9" * 5000,  # ValueError (integer string conversion) before
        ],
    )
    def test_not_a_catalog_document(self, text):
        with pytest.raises(CatalogError) as caught:
            parse_catalog(text, source="inline.yaml")
        assert "inline.yaml" in str(caught.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(CatalogError, match="cannot be read"):
            load_catalog(tmp_path / "absent.yaml")


class TestCaching:
    def test_same_file_same_object(self):
        assert load_catalog() is load_catalog(DEFAULT_CATALOG_PATH)

    def test_a_changed_file_is_reloaded(self, tmp_path):
        path = write_variant(tmp_path, lambda d: d.update(catalog_revision="one"))
        first = load_catalog(path)
        assert load_catalog(path) is first
        path.write_text(path.read_text().replace("catalog_revision: one", "catalog_revision: two-longer"))
        os.utime(path, ns=(first_mtime := path.stat().st_mtime_ns, first_mtime + 1_000_000))
        assert load_catalog(path).revision == "two-longer"
