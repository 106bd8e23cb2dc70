"""Version attribution by the run's timestamp (issue 16 item 3), with a bounded clock skew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from ailog import services
from ailog.models import AiAttempt, AiRun
from analytics.models import ContextTotal
from analytics.services import aggregates_rebuild
from rmos_site.errors import ValidationFailed
from tests.factories import edit_profile, make_profile, run_item


@pytest.mark.django_db
def test_a_timestamp_beyond_the_clock_skew_is_refused():
    make_profile()
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[run_item(at=datetime.now(UTC) + timedelta(minutes=6))])
    error = caught.value.errors[0]
    assert (error.field, error.rule) == ("timestamp", "range") and "5 minutes" in error.message
    services.runs_ingest(runs=[run_item(at=datetime.now(UTC) + timedelta(minutes=4))])


@pytest.mark.django_db
def test_a_run_sent_after_an_edit_counts_under_the_version_of_its_timestamp():
    make_profile()
    before_edit = datetime.now(UTC) - timedelta(seconds=1)
    edit_profile("default", max_rings=7)
    services.runs_ingest(runs=[run_item(at=before_edit), run_item(at=datetime.now(UTC))])
    assert sorted(AiRun.objects.values_list("profile_version", flat=True)) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_a_run_dated_after_an_edit_it_arrived_before_moves_to_that_version():
    """Posted ahead of this server's clock, the run got the version in force then; an edit saved
    before its timestamp takes it over, with its attempts and counts."""
    make_profile()
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    services.runs_ingest(runs=[run_item(at=ahead), run_item(at=datetime.now(UTC) - timedelta(seconds=1))])
    assert set(AiRun.objects.values_list("profile_version", flat=True)) == {1}
    edit_profile("default", max_rings=7)
    moved = AiRun.objects.get(timestamp=ahead)
    assert moved.profile_version == 2 and moved.profile_history_id is not None
    assert set(AiAttempt.objects.filter(run_id=moved.run_id).values_list("profile_version", flat=True)) == {2}
    assert AiRun.objects.exclude(timestamp=ahead).get().profile_version == 1  # dated before the edit: stays
    assert dict(ContextTotal.objects.values_list("profile_version", "runs")) == {1: 1, 2: 1}
    assert aggregates_rebuild(check_only=True) == []
    call_command("rebuild_aggregates", "--check", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_run_that_named_an_older_version_keeps_it_after_an_edit():
    make_profile()
    edit_profile("default", max_rings=7)
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    services.runs_ingest(runs=[run_item(at=ahead, profile_version=1)])
    edit_profile("default", max_rings=8)
    assert AiRun.objects.get().profile_version == 1
    assert aggregates_rebuild(check_only=True) == []
