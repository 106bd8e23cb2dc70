"""rebuild_aggregates [--check]."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from ailog import services as log_services
from analytics.models import ContextTotal
from tests.factories import run_item

pytestmark = pytest.mark.django_db


def test_check_passes_then_reports_every_mismatch_then_rebuild_fixes(default_profile):
    log_services.runs_ingest(runs=[run_item(), run_item(tool_id="saw:b")])
    out = io.StringIO()
    call_command("rebuild_aggregates", "--check", stdout=out, stderr=io.StringIO())
    assert "match" in out.getvalue()

    ContextTotal.objects.update(runs=99)
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("rebuild_aggregates", "--check", stdout=out, stderr=io.StringIO())
    assert failed.value.returncode == 1 and "2 mismatches" in str(failed.value)
    assert out.getvalue().count("runs: stored 99, expected 1") == 2

    out = io.StringIO()
    call_command("rebuild_aggregates", stdout=out, stderr=io.StringIO())
    assert "2 values corrected" in out.getvalue()
    call_command("rebuild_aggregates", "--check", stdout=io.StringIO(), stderr=io.StringIO())


def test_check_warns_when_aggregates_predate_the_run_risk_until_rebuilt(default_profile):
    """An upgrade adds the per-run RED share columns as zeros: the check says to rebuild, once."""
    from analytics.checks import aggregates_current

    assert aggregates_current(None, databases=["default"]) == []  # an empty log is current
    log_services.runs_ingest(runs=[run_item(attempts=3)])
    assert aggregates_current(None, databases=["default"]) == []
    ContextTotal.objects.update(risk_runs=0, red_share_sum=0, red_share_sq_sum=0)  # as the migration leaves them
    assert [w.id for w in aggregates_current(None, databases=["default"])] == ["rmos.W004"]
    call_command("rebuild_aggregates", stdout=io.StringIO(), stderr=io.StringIO())
    assert aggregates_current(None, databases=["default"]) == []
