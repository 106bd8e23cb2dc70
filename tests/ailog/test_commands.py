"""ailog's management commands: log_is_empty and prune_logs."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from ailog import services
from ailog.models import AiAttempt, AiRun
from tests.factories import T0, run_item

pytestmark = pytest.mark.django_db


def test_log_is_empty_exit_status():
    with pytest.raises(SystemExit) as empty:
        call_command("log_is_empty", stdout=io.StringIO())
    assert empty.value.code == 0
    services.runs_ingest(runs=[run_item()])
    with pytest.raises(SystemExit) as full:
        call_command("log_is_empty", stdout=io.StringIO())
    assert full.value.code == 1


def test_prune_logs_dry_run_then_for_real():
    services.runs_ingest(runs=[run_item(at=T0 - timedelta(days=10), attempts=2), run_item(at=T0, attempts=2)])
    out, err = io.StringIO(), io.StringIO()
    call_command("prune_logs", "--before", "2025-06-01", "--dry-run", stdout=out, stderr=err)
    assert "1 runs and 2 attempts" in out.getvalue() and AiRun.objects.count() == 2

    out, err = io.StringIO(), io.StringIO()
    call_command("prune_logs", "--before", "2025-06-01", stdout=out, stderr=err)
    assert "Deleted 1 runs and 2 attempts older than 2025-06-01T00:00:00Z" in out.getvalue()
    assert "pruning" in err.getvalue() and "10/10" in err.getvalue() and "day/s" in err.getvalue()
    assert (AiRun.objects.count(), AiAttempt.objects.count()) == (1, 2)


@pytest.mark.parametrize(
    "value", ["soon", "2025-06-01T00:00:00", "9999-12-31T23:59:59-12:00"]
)  # the last: a traceback before
def test_prune_logs_refuses_bad_dates(value):
    with pytest.raises(CommandError):
        call_command("prune_logs", "--before", value, stdout=io.StringIO(), stderr=io.StringIO())
