"""The read-only admin of the AI log."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from ailog import services
from ailog.models import AiAttempt, AiRun
from tests.factories import attempt_event, new_run_id, run_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "", "pw"))
    return client


def test_changelists_search_filters_and_inline(admin_client):
    item = run_item(attempts=3, tool_id="laser:co2-40w")
    services.runs_ingest(runs=[item, run_item()])
    orphan = new_run_id()
    services.events_ingest(events=[attempt_event(orphan)])

    page = admin_client.get("/admin/ailog/airun/")
    assert page.status_code == 200 and item["run_id"] in page.content.decode()
    assert admin_client.get("/admin/ailog/airun/?q=laser:co2-40w").context["cl"].result_count == 1
    assert admin_client.get(f"/admin/ailog/airun/?q={item['run_id']}").context["cl"].result_count == 1
    assert admin_client.get("/admin/ailog/airun/?q=laser").context["cl"].result_count == 0  # exact ids only
    assert admin_client.get("/admin/ailog/airun/?success__exact=1&reason__exact=green_found").status_code == 200

    attempts = admin_client.get("/admin/ailog/aiattempt/?risk_bucket__exact=RED")
    assert attempts.status_code == 200 and attempts.context["cl"].result_count == 3
    assert orphan in admin_client.get(f"/admin/ailog/aiattempt/?q={orphan}").content.decode()

    run = AiRun.objects.get(run_id=item["run_id"])
    detail = admin_client.get(f"/admin/ailog/airun/{run.pk}/change/")
    assert detail.status_code == 200
    inline = detail.context["inline_admin_formsets"][0]
    assert [form.original.attempt_index for form in inline] == [1, 2, 3]


def test_admin_is_read_only(admin_client):
    services.runs_ingest(runs=[run_item()])
    run = AiRun.objects.get()
    assert admin_client.get("/admin/ailog/airun/add/").status_code == 403
    assert admin_client.post(f"/admin/ailog/airun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AiRun.objects.exists()


def _refusal(response) -> str:
    assert response.status_code == 403
    return html.unescape(re.sub(r"<[^>]+>", "", response.content.decode()))


def test_the_read_only_admin_says_why_it_refuses(admin_client):
    """Seen in review: a superuser refused a delete here was told it needs the operator role."""
    services.runs_ingest(runs=[run_item(attempts=1)])
    run, attempt = AiRun.objects.get(), AiAttempt.objects.get()
    for url in (f"/admin/ailog/airun/{run.pk}/delete/", f"/admin/ailog/aiattempt/{attempt.pk}/delete/"):
        page = _refusal(admin_client.get(url))
        assert "Runs and attempts are never deleted one by one" in page and "prune_logs --before" in page
        assert "role" not in page
    for url in ("/admin/ailog/airun/add/", "/admin/ailog/aiattempt/add/"):
        page = _refusal(admin_client.get(url))
        assert "Runs and attempts are recorded through the log API" in page and "role" not in page


def test_recent_filter(admin_client):
    now = datetime.now(UTC).replace(microsecond=0)
    services.runs_ingest(runs=[run_item(at=now - timedelta(minutes=5)), run_item(at=now - timedelta(days=3))])
    assert admin_client.get("/admin/ailog/airun/?recent=1h").context["cl"].result_count == 1
    assert admin_client.get("/admin/ailog/airun/?recent=7d").context["cl"].result_count == 2
    assert admin_client.get("/admin/ailog/aiattempt/?recent=24h").context["cl"].result_count == 2
