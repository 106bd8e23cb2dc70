"""The canonical YAML: determinism, round trips, atomic writes, import and export commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from profiles import canonical, selectors, services
from profiles.models import ChangeType, ConstraintProfile, ResolutionRule

pytestmark = pytest.mark.django_db

STARTER = settings.BASE_DIR / "rmos_site/config/rmos_constraint_profiles.yaml"


def thin_saw_max_rings(text: str, value: int) -> str:
    """The canonical text with thin_saw's max_rings (8 in the starter file) set to ``value``."""
    head, block = text.split("  thin_saw:\n", 1)
    assert "    max_rings: 8\n" in block[: re.search(r"\n  \S", block).start()]
    return head + "  thin_saw:\n" + block.replace("    max_rings: 8\n", f"    max_rings: {value}\n", 1)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_starter_file_imports_all_profiles_and_rules(starter_profiles):
    names = set(ConstraintProfile.objects.values_list("name", flat=True))
    assert {
        "default",
        "thin_saw",
        "router_bit",
        "proto_machine",
        "production_machine",
        "premium_shell",
        "maple_contrast",
    } <= names
    rules = {
        r.name: (r.tool_pattern, r.material_pattern, r.machine_pattern, r.profile.name)
        for r in ResolutionRule.objects.all()
    }
    assert rules["saw-tools"] == ("saw:*", "", "", "thin_saw")
    assert rules["router-tools"] == ("router:*", "", "", "router_bit")
    assert rules["shell-materials"][1:] == ("shell:*", "", "premium_shell")
    assert rules["maple-materials"][1:] == ("wood:maple*", "", "maple_contrast")
    assert rules["prototype-machines"][2:] == ("proto:*", "proto_machine")
    assert rules["production-machines"][2:] == ("prod:*", "production_machine")
    record = ConstraintProfile.history.first()
    assert (record.change_type, record.history_change_reason) == (
        ChangeType.IMPORT,
        "import from rmos_constraint_profiles.yaml",
    )


def test_starter_values_are_physically_sensible(starter_profiles):
    for profile in ConstraintProfile.objects.all():
        assert Decimal_between(profile.min_ring_width_mm, "0.3", "4") and Decimal_between(
            profile.max_ring_width_mm, "0.3", "4"
        )
        assert Decimal_between(profile.min_total_width_mm, "3", "12") and Decimal_between(
            profile.max_total_width_mm, "3", "12"
        )


def Decimal_between(value, low: str, high: str) -> bool:
    from decimal import Decimal

    return Decimal(low) <= value <= Decimal(high)


def test_export_import_export_is_byte_identical(starter_profiles, tmp_path):
    first = tmp_path / "a.yaml"
    run("export_profiles", str(first))
    assert first.read_text() == STARTER.read_text()
    run("import_profiles", str(first))
    second = tmp_path / "b.yaml"
    run("export_profiles", str(second))
    assert first.read_bytes() == second.read_bytes()


def test_export_without_change_leaves_the_file_untouched(starter_profiles, tmp_path):
    target = tmp_path / "p.yaml"
    services.profiles_export(path=target)
    mtime = target.stat().st_mtime_ns
    result = services.profiles_export(path=target)
    assert not result.changed and target.stat().st_mtime_ns == mtime


def test_a_one_field_change_is_a_one_line_diff(starter_profiles, django_capture_on_commit_callbacks):
    target = Path(settings.RMOS_PROFILE_YAML_PATH)
    services.profiles_export()
    before = target.read_text().splitlines()
    with django_capture_on_commit_callbacks(execute=True):
        services.profile_update(name="thin_saw", changes={"max_rings": 7}, note="one field")
    after = target.read_text().splitlines()  # re-exported on commit
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and changed == [("    max_rings: 8", "    max_rings: 7")]


def test_every_committed_change_re_exports_the_yaml(starter_profiles, django_capture_on_commit_callbacks):
    target = Path(settings.RMOS_PROFILE_YAML_PATH)
    assert not target.exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.profile_update(name="default", changes={"bias_simple": True}, note="simpler by default")
    assert len(callbacks) == 2  # the export, and the new version's announcement (profiles.signals)
    profiles, rules = selectors.canonical_state()
    assert target.read_text() == canonical.render(profiles, rules)
    assert "bias_simple: true" in target.read_text().split("  maple_contrast:")[0]


def test_journal_mirror_gets_one_line_per_change(
    starter_profiles, settings, tmp_path, django_capture_on_commit_callbacks
):
    """A mirror switched on later holds the whole journal after the next change: every earlier
    entry once (the import of the starter set), then the change."""
    import json

    settings.RMOS_PROFILE_HISTORY_PATH = tmp_path / "journal.jsonl"
    with django_capture_on_commit_callbacks(execute=True):
        services.profile_update(name="default", changes={"max_rings": 5}, note="mirror me", operator="ops")
    lines = settings.RMOS_PROFILE_HISTORY_PATH.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [entry["id"] for entry in selectors.journal_all()]
    assert [json.loads(line)["type"] for line in lines[:-1]] == ["import"] * (len(lines) - 1)
    entry = json.loads(lines[-1])
    assert (entry["kind"], entry["subject"], entry["type"], entry["note"], entry["operator"]) == (
        "profile",
        "default",
        "changed",
        "mirror me",
        "ops",
    )
    assert entry["changes"] == [{"field": "max_rings", "before": 6, "after": 5}]


def test_journal_mirror_writes_each_change_once_when_hooks_run_late(
    starter_profiles, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Two processes: the first commits, the second commits too, then the first's hook runs.
    Before, that hook mirrored the newest entry (the second's): one change twice, one missing."""
    import json

    settings.RMOS_PROFILE_HISTORY_PATH = tmp_path / "journal.jsonl"
    with django_capture_on_commit_callbacks() as first_hooks:
        services.profile_update(name="default", changes={"max_rings": 5}, note="first")
    with django_capture_on_commit_callbacks(execute=True):
        services.profile_update(name="default", changes={"max_rings": 4}, note="second")
    for hook in first_hooks:
        hook()
    entries = [json.loads(line) for line in settings.RMOS_PROFILE_HISTORY_PATH.read_text().splitlines()]
    changes = [(e["version"], e["note"]) for e in entries if e["type"] == "changed"]
    assert sorted(changes) == [(2, "first"), (3, "second")]
    assert len({(e["kind"], e["id"]) for e in entries}) == len(entries) == len(selectors.journal_all())


def test_failure_in_the_middle_of_a_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "p.yaml"
    target.write_text("old content\n")

    def crash(fd):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        canonical.atomic_write(target, "new content\n")
    assert target.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.yaml"]  # no temp file left behind


def test_dry_run_prints_the_diff_and_writes_nothing(starter_profiles, tmp_path):
    edited = tmp_path / "edited.yaml"
    edited.write_text(thin_saw_max_rings(STARTER.read_text(), 9))
    history_before = ConstraintProfile.history.count()
    out = run("import_profiles", str(edited), "--dry-run")
    assert "~ profile thin_saw.max_rings: 8 -> 9" in out
    assert "Dry run: nothing was written." in out
    assert ConstraintProfile.objects.get(name="thin_saw").max_rings == 8
    assert ConstraintProfile.history.count() == history_before
    assert (
        not Path(settings.RMOS_PROFILE_YAML_PATH).exists()
        or "max_rings: 9" not in Path(settings.RMOS_PROFILE_YAML_PATH).read_text()
    )


def test_import_applies_changes_journaled_as_import(starter_profiles, tmp_path):
    edited = tmp_path / "tuned.yaml"
    edited.write_text(thin_saw_max_rings(STARTER.read_text(), 9))
    out = run("import_profiles", str(edited))
    assert "change 1" in out
    profile = ConstraintProfile.objects.get(name="thin_saw")
    assert (profile.max_rings, profile.version) == (9, 2)
    record = profile.history.order_by("-history_id").first()
    assert (record.change_type, record.history_change_reason) == (ChangeType.IMPORT, "import from tuned.yaml")


def test_malformed_yaml_is_rejected_with_its_line(starter_profiles, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nprofiles:\n  default: [unclosed\n")
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(bad))
    assert "bad.yaml:" in str(caught.value) and "yaml_syntax" in str(caught.value)
    assert ":4:" in str(caught.value) or ":3:" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Each was a traceback before: PyYAML raises ValueError / RecursionError, not a YAMLError.
        (
            "version: 1\nprofiles:\n  default:\n    max_rings: " + "9" * 5000 + "\n",
            "bad.yaml:4: cannot read this value: Exceeds the limit",
        ),
        (
            "version: 1\nprofiles:\n  default:\n    max_rings: 2025-13-45\n",
            "bad.yaml:4: cannot read this value: month must be in 1..12",
        ),
        ("version: 1\nprofiles: " + "[" * 5000 + "\n", "bad.yaml:?: the file is nested too deeply to read"),
    ],
)
def test_unreadable_values_are_errors_with_their_line_not_tracebacks(starter_profiles, tmp_path, text, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(CommandError) as caught:
        run("import_profiles", "--dry-run", str(bad))
    assert expected in str(caught.value) and "nothing was imported" in str(caught.value)
    assert "set_int_max_str_digits" not in str(caught.value)  # Python's advice, not the user's


def test_unknown_keys_are_rejected_with_their_lines_and_nothing_is_imported(starter_profiles, tmp_path):
    text = STARTER.read_text()
    text = text.replace("    bias_simple: false\n", "    bias_simple: false\n    colour: red\n", 1)
    text = thin_saw_max_rings(text, 30)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    lines = text.splitlines()
    colour_line = lines.index("    colour: red") + 1
    versions = {p.name: p.version for p in ConstraintProfile.objects.all()}
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(bad))
    message = str(caught.value)
    assert f"bad.yaml:{colour_line}: profiles.default.colour" in message and "unknown_key" in message
    assert {p.name: p.version for p in ConstraintProfile.objects.all()} == versions


@pytest.mark.parametrize(
    "value, message",
    [
        (30, "must be between 1 and 24, got 30 [range]"),
        ('"7"', "is text ('7'); write the number without quotes [type]"),  # a number in quotes
    ],
)
def test_value_errors_name_profile_field_rule_and_line(starter_profiles, tmp_path, value, message):
    text = thin_saw_max_rings(STARTER.read_text(), value)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    line = text.splitlines().index(f"    max_rings: {value}") + 1
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(bad))
    assert f"bad.yaml:{line}: profiles.thin_saw.max_rings: {message}" in str(caught.value)
    thin_saw = ConstraintProfile.objects.get(name="thin_saw")
    assert (thin_saw.max_rings, thin_saw.version) == (8, 1)


def test_a_reserved_profile_name_is_an_import_error_with_its_line(starter_profiles, tmp_path):
    """Seen: a profile named 'list' (the API's list endpoint) ended the import in a traceback."""
    text = STARTER.read_text().replace("  thin_saw:\n", "  list:\n", 1).replace("profile: thin_saw", "profile: list")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    line = text.splitlines().index("  list:") + 1
    versions = {p.name: p.version for p in ConstraintProfile.objects.all()}
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(bad))
    assert f"bad.yaml:{line}: profiles.list: 'list' is reserved by the API; choose another name [reserved]" in str(
        caught.value
    )
    assert {p.name: p.version for p in ConstraintProfile.objects.all()} == versions


def test_duplicate_keys_are_rejected(starter_profiles, tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text(STARTER.read_text().replace("    max_rings: 6\n", "    max_rings: 6\n    max_rings: 7\n", 1))
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(bad))
    assert "duplicate key 'max_rings'" in str(caught.value)


def test_yaml_objects_are_not_constructed(db, tmp_path):
    bad = tmp_path / "evil.yaml"
    bad.write_text("version: 1\nprofiles: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(bad))
    assert "yaml_syntax" in str(caught.value)


def test_prune_deletes_what_the_file_lacks(starter_profiles, tmp_path):
    services.profile_create(
        name="scratch", values=selectors.profile_values(ConstraintProfile.objects.get(name="default")), note="tmp"
    )
    out = run("import_profiles", str(STARTER), "--prune", "--dry-run")
    assert "- profile scratch: delete" in out
    assert ConstraintProfile.objects.filter(name="scratch").exists()
    run("import_profiles", str(STARTER), "--prune")
    assert not ConstraintProfile.objects.filter(name="scratch").exists()


def test_export_check_detects_drift_and_exits_non_zero(starter_profiles, tmp_path):
    target = tmp_path / "canonical.yaml"
    services.profiles_export(path=target)
    assert "matches the database" in run("export_profiles", str(target), "--check")
    target.write_text(thin_saw_max_rings(target.read_text(), 9))
    with pytest.raises(SystemExit) as caught:
        run("export_profiles", str(target), "--check")
    assert caught.value.code == 1
    assert "max_rings: 9" in target.read_text()  # --check writes nothing


def test_export_history_writes_the_seed_journal_format(starter_profiles, tmp_path):
    import json

    services.profile_update(name="default", changes={"max_rings": 5}, note="fewer", operator="dev")
    target = tmp_path / "journal.jsonl"
    run("export_history", "--jsonl", str(target))
    entries = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(entries) == ConstraintProfile.history.count() + ResolutionRule.history.count()
    last_profile_change = [e for e in entries if e["kind"] == "profile" and e["note"] == "fewer"][0]
    assert {"id", "subject", "type", "operator", "note", "time", "changes", "user", "version"} <= set(
        last_profile_change
    )
    assert last_profile_change["changes"] == [{"field": "max_rings", "before": 6, "after": 5}]


def test_import_command_help_explains_itself():
    result = subprocess.run(
        [sys.executable, "manage.py", "import_profiles", "--help"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    assert "all or nothing" in result.stdout and "--dry-run" in result.stdout and "--prune" in result.stdout


def test_export_removes_temp_files_a_crashed_writer_left(starter_profiles, tmp_path):
    target = tmp_path / "p.yaml"
    stale = tmp_path / ".p.yaml.abc123.tmp"
    stale.write_text("half a file")
    services.profiles_export(path=target)
    assert not stale.exists() and target.exists()


def test_a_file_older_than_the_database_is_refused_instead_of_undoing_edits(starter_profiles, tmp_path):
    """Seen: import_profiles run while operators edited put an earlier version's values back
    over edits that had been answered 200 (the file on disk was written before them)."""
    old = tmp_path / "old.yaml"
    old.write_text(STARTER.read_text())  # thin_saw at version 1's values (max_rings 8)
    services.profile_update(name="thin_saw", changes={"max_rings": 9}, note="more rings", operator="ops")
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(old))
    message = str(caught.value)
    assert "profiles.thin_saw: the file has the values of version 1, but the database is at version 2" in message
    assert "[stale]" in message and "--force" in message
    assert ConstraintProfile.objects.get(name="thin_saw").max_rings == 9  # nothing undone

    out = run("import_profiles", str(old), "--force")  # meant: put version 1's values back
    assert "change 1" in out and ConstraintProfile.objects.get(name="thin_saw").max_rings == 8


def test_a_hand_edit_in_the_file_is_not_taken_for_a_stale_file(starter_profiles, tmp_path):
    edited = tmp_path / "edited.yaml"
    services.profile_update(name="thin_saw", changes={"max_rings": 9}, note="more rings")
    edited.write_text(thin_saw_max_rings(STARTER.read_text(), 10))  # values no version ever had
    run("import_profiles", str(edited))
    assert ConstraintProfile.objects.get(name="thin_saw").max_rings == 10


# -- derived files catch up (issue 15 item 7) ----------------------------------------------------


def _mirrored(path) -> list[tuple[str, int]]:
    import json

    return [(item["kind"], item["id"]) for item in map(json.loads, path.read_text().splitlines())]


def test_a_change_whose_export_never_ran_is_caught_up_by_the_next_change(
    starter_profiles, settings, tmp_path, django_capture_on_commit_callbacks
):
    """A process killed after its commit, before its on-commit export: the YAML and the journal
    mirror miss that change. The next change brings both up to date, the check warns meanwhile."""
    from profiles.checks import derived_files_caught_up

    settings.RMOS_PROFILE_HISTORY_PATH = tmp_path / "journal.jsonl"
    services.journal_mirror_catch_up()
    before = _mirrored(settings.RMOS_PROFILE_HISTORY_PATH)
    services.profiles_export()
    # Committed, but its on-commit hooks never run (the crash).
    with django_capture_on_commit_callbacks(execute=False):
        lost = services.profile_update(name="thin_saw", changes={"max_rings": 5}, note="lost export")
    assert settings.RMOS_PROFILE_YAML_PATH.read_text() != canonical.render(*selectors.canonical_state())
    warnings = {w.id for w in derived_files_caught_up(None, databases=["default"])}
    assert warnings == {"rmos.W002", "rmos.W003"}  # both files behind, both said
    with django_capture_on_commit_callbacks(execute=True):
        services.profile_update(name="router_bit", changes={"max_rings": 6}, note="next change")
    text = settings.RMOS_PROFILE_YAML_PATH.read_text()
    assert text == canonical.render(*selectors.canonical_state())
    mirrored = _mirrored(settings.RMOS_PROFILE_HISTORY_PATH)
    assert mirrored[: len(before)] == before and len(mirrored) == len(before) + 2
    assert ("profile", lost.history_id) in mirrored and len(set(mirrored)) == len(mirrored)  # each once
    assert derived_files_caught_up(None, databases=["default"]) == []


def test_export_profiles_catches_up_the_yaml_and_the_mirror(
    starter_profiles, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.RMOS_PROFILE_HISTORY_PATH = tmp_path / "journal.jsonl"
    with django_capture_on_commit_callbacks(execute=False):
        services.profile_update(name="thin_saw", changes={"max_rings": 5}, note="lost export")
    out = StringIO()
    call_command("export_profiles", stdout=out)
    assert "written" in out.getvalue() and "missing entries appended" in out.getvalue()
    assert settings.RMOS_PROFILE_YAML_PATH.read_text() == canonical.render(*selectors.canonical_state())
    assert len(_mirrored(settings.RMOS_PROFILE_HISTORY_PATH)) == len(selectors.journal_all())
    again = StringIO()
    call_command("export_profiles", stdout=again)
    assert "already up to date" in again.getvalue() and "appended" not in again.getvalue()


def test_the_mirror_survives_a_torn_last_line(starter_profiles, settings, tmp_path):
    path = tmp_path / "journal.jsonl"
    settings.RMOS_PROFILE_HISTORY_PATH = path
    services.journal_mirror_catch_up()
    whole = path.read_text()
    path.write_text(whole + '{"kind": "profile", "id": 99')  # a crash in the middle of a line
    assert services.journal_mirror_catch_up() == 0
    services.profile_update(name="thin_saw", changes={"max_rings": 5}, note="after the tear")
    assert services.journal_mirror_catch_up() == 1
    lines = path.read_text().splitlines()
    assert lines[-2] == '{"kind": "profile", "id": 99' and '"after the tear"' in lines[-1]


def test_import_of_a_file_older_than_the_database_exits_3(starter_profiles, settings, tmp_path):
    old = tmp_path / "old.yaml"
    services.profiles_export(path=old)
    services.profile_update(name="thin_saw", changes={"max_rings": 5}, note="newer than the file")
    with pytest.raises(CommandError) as refused:
        call_command("import_profiles", str(old), stdout=StringIO(), stderr=StringIO())
    assert refused.value.returncode == 3 and "older than the database" in str(refused.value)


def billion_laughs(levels: int = 9) -> str:
    """The starter file with ``min_rings`` of default made of ``levels`` nested aliases, each nine
    copies of the one before (the attack on issue 15: 4.4 KB, 50 s and 2.35 GB before MemoryError)."""
    nodes = ['&l0 "lol"'] + [f"&l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    text = STARTER.read_text().replace("    min_rings: 1\n", f"    min_rings: [{', '.join(nodes)}]\n", 1)
    assert f"&l{levels}" in text
    return text


def test_a_billion_laughs_file_is_refused_at_once_naming_its_line(starter_profiles, tmp_path):
    import time

    bomb = tmp_path / "laughs.yaml"
    bomb.write_text(billion_laughs())
    started = time.monotonic()
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(bomb))
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "laughs.yaml:8: anchors (&name) and aliases (*name) are not part of the canonical format" in message
    assert "[anchor_alias]" in message and len(message) < 500


def test_an_alias_alone_is_refused_too(starter_profiles):
    text = STARTER.read_text().replace("    min_rings: 1\n", "    min_rings: &one 1\n", 1)
    with pytest.raises(services.ImportFailed) as caught:
        services.profiles_import(text=text, source="anchor.yaml")
    assert [p.rule for p in caught.value.line_problems] == ["anchor_alias"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read_whole(starter_profiles, tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text(STARTER.read_text() + "# " + "x" * canonical.MAX_FILE_BYTES + "\n")
    with pytest.raises(CommandError) as caught:
        run("import_profiles", str(big))
    assert f"the limit is {canonical.MAX_FILE_BYTES:,} bytes" in str(caught.value)
    with pytest.raises(services.ImportFailed) as caught:
        services.profiles_import(text=big.read_text(), source="big.yaml")
    assert [p.rule for p in caught.value.line_problems] == ["max_size"]


@pytest.mark.parametrize("value", ["[1, 2, 3]", "{a: 1}", "[[[[[[1]]]]]]"])
def test_a_list_or_mapping_as_a_value_is_refused_without_being_written_out(starter_profiles, value):
    text = STARTER.read_text().replace("    min_rings: 1\n", f"    min_rings: {value}\n", 1)
    with pytest.raises(services.ImportFailed) as caught:
        services.profiles_import(text=text, source="nested.yaml")
    (problem,) = caught.value.line_problems
    assert (problem.path, problem.rule) == ("profiles.default.min_rings", "structure")
    assert value not in problem.message


def test_a_long_quoted_number_is_shown_cut_short(starter_profiles):
    text = STARTER.read_text().replace("    min_rings: 1\n", f'    min_rings: "{"x" * 5000}"\n', 1)
    with pytest.raises(services.ImportFailed) as caught:
        services.profiles_import(text=text, source="long.yaml")
    assert all(len(error.message) < 300 for error in caught.value.errors)
