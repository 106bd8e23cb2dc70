"""The AI log over HTTP (DESIGN.md §4, ``rmos/logs/ai/*``). Views parse, call one service or
selector, and shape the answer; the rules live in services, selectors and ailog.filters.

:mod:`~ailog.apis.common` holds the list view base, CSV and schema helpers;
:mod:`~ailog.apis.shapes` the answers' shapes; :mod:`~ailog.apis.views` the log's endpoints;
:mod:`~ailog.apis.search` the constraint-search endpoint.
"""

from ailog.apis.search import ConstraintSearchApi
from ailog.apis.shapes import AttemptOutputSerializer, RunOutputSerializer, attempt_json, run_json
from ailog.apis.views import AttemptListApi, EventIngestApi, RunDetailApi, RunIngestApi, RunListApi, RunsApi

__all__ = [
    "AttemptOutputSerializer",
    "RunOutputSerializer",
    "attempt_json",
    "run_json",
    "AttemptListApi",
    "EventIngestApi",
    "RunDetailApi",
    "RunIngestApi",
    "RunListApi",
    "RunsApi",
    "ConstraintSearchApi",
]
