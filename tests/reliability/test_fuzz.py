"""Schemathesis against the project's own OpenAPI schema: every operation, authenticated, on a
log with data (runs and attempts over several days, two versions of a profile, the starter rules),
so that answers with results are checked against the schema too, not only empty ones.

Checks per generated request: no 5xx, a documented status code, the documented content type,
and a body that conforms to the documented schema (errors included: see rmos_site/schema.py).
RMOS_FUZZ_EXAMPLES sets the examples per operation (CI keeps it small; run more by hand). The
schema is built when the first fuzz test runs, not when the suite is collected.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_user, token_for

EXAMPLES = int(os.environ.get("RMOS_FUZZ_EXAMPLES", "15"))
STATS_FILE = Path(__file__).resolve().parents[2] / "test-artifacts" / "fuzz-stats.json"
_calls: Counter[str] = Counter()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="session")
def api_schema(django_db_setup):
    """The schema drf-spectacular serves at /api/schema/, bound to our WSGI application."""
    from django.core.wsgi import get_wsgi_application
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    # Rendered exactly as GET /api/schema/?format=json renders it.
    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")
# The fixtures below are looked up as the test runs: the mark tells pytest-django to set up the
# test database, which it does only for tests that it knows use one.
pytestmark = pytest.mark.django_db


@pytest.fixture
def populated_log(db, starter_profiles):
    """Runs and attempts of the real search loop, before and after an edit of the default profile."""
    from django.core.management import call_command

    from profiles import services

    call_command("simulate_traffic", "--runs", "12", "--seed", "7", "--days", "3", verbosity=0, stdout=StringIO())
    services.profile_update(name="default", changes={"max_rings": 7}, note="fuzz: a second version")
    call_command("simulate_traffic", "--runs", "6", "--seed", "8", "--days", "1", verbosity=0, stdout=StringIO())


@pytest.fixture
def fuzz_token(db, populated_log):
    return token_for(make_user("fuzz-admin", superuser=True))


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32's lazy schema reads and rewrites ``node._nodeid`` (to name each operation
    in reports), an attribute pytest 9.2's nodes no longer have."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture(autouse=True)
def _keep_the_test_connection_open():
    """Schemathesis calls the WSGI app directly; like Django's test client, keep the test's
    database connection (and its transaction) open across requests."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_survives_generated_requests(case, fuzz_token):
    response = case.call(headers={"Authorization": f"Token {fuzz_token}"})
    _calls[f"{case.method.upper()} {case.path} -> {response.status_code}"] += 1
    case.validate_response(response, checks=CHECKS)


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    """Write how many generated requests each operation got, and their status codes."""
    yield
    STATS_FILE.parent.mkdir(exist_ok=True)
    STATS_FILE.write_text(json.dumps({"total": sum(_calls.values()), "calls": dict(sorted(_calls.items()))}, indent=1))
