"""Crash safety of the canonical YAML: a writer killed at any moment leaves old or new, never a mix.

A child process rewrites the file in a tight loop through the same function every export uses
(``profiles.canonical.atomic_write``), alternating between two large, different contents; the
parent SIGKILLs it at random moments and then reads the file. Each run also checks the write
really was under way (the child reports how many writes it finished).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

CHILD = r"""
import sys
from pathlib import Path
from profiles.canonical import atomic_write

target = Path(sys.argv[1])
texts = [Path(sys.argv[2]).read_text(), Path(sys.argv[3]).read_text()]
n = 0
while True:
    atomic_write(target, texts[n % 2])
    n += 1
    if n % 5 == 0:
        Path(sys.argv[4]).write_text(str(n))
"""


def test_killed_writer_leaves_old_or_new_content(tmp_path: Path):
    starter = (settings.BASE_DIR / "rmos_site/config/rmos_constraint_profiles.yaml").read_text()
    old = starter * 40  # a few hundred kB, so a kill often lands mid-write
    new = starter.replace("max_rings: 8", "max_rings: 9") * 40
    assert old != new and len(old) == len(new)
    old_file, new_file, progress = tmp_path / "old.txt", tmp_path / "new.txt", tmp_path / "progress"
    old_file.write_text(old)
    new_file.write_text(new)
    target = tmp_path / "out" / "profiles.yaml"
    target.parent.mkdir()
    target.write_text(old)

    rng = random.Random(1234)
    kills = 0
    writes_seen = 0
    for _ in range(25):
        progress.write_text("0")
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(target), str(old_file), str(new_file), str(progress)],
            cwd=settings.BASE_DIR,
            env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR)},
        )
        time.sleep(0.15 + rng.random() * 0.25)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        kills += 1
        writes_seen += int(progress.read_text() or 0)
        content = target.read_text()
        assert content in (old, new), "the file holds neither the old nor the new content"
    assert kills == 25
    assert writes_seen > 25, "the child was killed before it wrote anything; the test proved nothing"
    # A crash can leave a temp file next to the target, never a partial target.
    leftovers = [p.name for p in target.parent.iterdir() if p.name != "profiles.yaml"]
    assert all(name.startswith(".profiles.yaml.") and name.endswith(".tmp") for name in leftovers)
