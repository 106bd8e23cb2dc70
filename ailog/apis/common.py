"""What the log's endpoints share: the list view with cursors and CSV, permissions, limits."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import parsers, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ailog.filters import (
    FORMAT_PARAM,
    LIMIT_MAX,
    PAGE_PARAMS,
    log_filter_parse,
    page_parse,
)
from rmos_site.api import JSONParser
from rmos_site.errors import PayloadTooLarge

ADD_RUN = "ailog.add_airun"
RUN_SEARCH = "ailog.run_search"


# ---------------------------------------------------------------------------------------------
# Shared pieces


class CSVRenderer(BaseRenderer):
    """Lets ``?format=csv`` (and ``Accept: text/csv``) select the CSV answer; the view streams it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover - views stream instead
        raise NotImplementedError("list views stream CSV themselves")


class _Echo:
    def write(self, value: str) -> str:
        return value


class ListApi(APIView):
    """A log list: JSON pages, or the same rows streamed as CSV."""

    renderer_classes = [JSONRenderer, CSVRenderer]
    kind = ""
    filters: tuple[str, ...] = ()
    csv_columns: tuple[str, ...] = ()

    def finalize_response(self, request, response, *args, **kwargs):
        # Only the streamed row lists are CSV: errors and anything else DRF answers itself (an
        # OPTIONS description, say) are JSON, even when ?format=csv was asked for.
        if isinstance(response, Response) and (response.status_code >= 400 or self.wants_csv(request)):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def wants_csv(self, request) -> bool:
        return getattr(request, "accepted_renderer", None) is not None and request.accepted_renderer.format == "csv"

    def parse(self, request):
        query = request.query_params
        filters = log_filter_parse(query, allowed=self.filters, extra=PAGE_PARAMS + (FORMAT_PARAM,))
        return filters, page_parse(query, kind=self.kind)

    def next_url(self, request, page) -> str | None:
        """This request's URL with the cursor of the page after ``page`` (None on the last page)."""
        if not page.next_cursor:
            return None
        params = request.query_params.copy()
        params["cursor"] = page.next_cursor
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

    def page_response(self, request, page, rows: list[dict[str, Any]]) -> Response:
        next_url = self.next_url(request, page)
        return Response(
            {
                "count": len(rows),
                "limit": page.limit,
                "next_cursor": page.next_cursor,
                "next": next_url,
                "results": rows,
            }
        )

    def csv_page_response(self, request, page, rows: Iterable[dict[str, Any]], filename: str) -> StreamingHttpResponse:
        """A CSV of one page (``limit`` given): the next page's URL in a ``Link: <…>; rel="next"``
        header, as a CSV has no room for it."""
        response = self.csv_response(rows, filename)
        next_url = self.next_url(request, page)
        if next_url:
            response["Link"] = f'<{next_url}>; rel="next"'
        return response

    def csv_response(self, rows: Iterable[dict[str, Any]], filename: str) -> StreamingHttpResponse:
        columns = self.csv_columns
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow(columns)
            for row in rows:
                yield writer.writerow([_csv_cell(row[c]) for c in columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


#: A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # Integrators choose these texts (tool ids, engines, profile names): a leading quote makes
        # a spreadsheet show them as text instead of running them.
        return "'" + value
    return value


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class PassThroughItems(serializers.Field):
    """A list of items, decoded JSON handed on unchanged: the service checks the list and every
    item itself, much faster than DRF fields would for 50,000 attempts."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class IngestJSONParser(JSONParser):
    """The ingestion endpoints' parser: the body's bytes decoded by msgspec (compiled, several
    times faster than ``json`` on 50,000 attempts), into the plain data the fast checks take.

    msgspec keeps the last of a key given twice, where the product refuses it (400
    ``duplicate_key``): a body is taken only when re-encoding what msgspec decoded gives back the
    body itself (compacted), which no body with a repeated key does. Any other body (a repeated
    key, a number or text written another way such as ``1.50`` or ``\u00e9``, malformed JSON, a
    charset other than UTF-8) goes to the general parser, whose answers stay the same.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        if parsers.get_encoding(parser_context or {}).lower().replace("_", "-") in ("utf-8", "utf8"):
            try:
                data = msgspec.json.decode(body)
                if msgspec.json.encode(data) == msgspec.json.format(body, indent=-1):
                    return data
            except (msgspec.MsgspecError, ValueError, RecursionError):
                pass  # the general parser answers
        return super().parse(io.BytesIO(body), media_type, parser_context)


def refuse_oversized(request) -> None:
    """413 from the Content-Length header alone, before a byte of the body is read."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge.body_over(limit, length, advice="Split the batch.")


def filter_parameters(names: Iterable[str]) -> list[OpenApiParameter]:
    descriptions = {
        "run_id": "one run (UUID)",
        "since": "inclusive; ISO date (UTC day) or date-time with timezone",
        "until": "exclusive; a bare date includes that whole day",
        "risk_bucket": "GREEN, YELLOW or RED (on runs: the selected candidate's bucket)",
        "profile": "profile name",
        "success": "true or false",
    }
    params = [OpenApiParameter(name, str, description=descriptions.get(name, "")) for name in names]
    params += [
        OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
        OpenApiParameter("limit", int, description=f"1-{LIMIT_MAX}, default 100 (CSV: no default limit)"),
        OpenApiParameter("format", str, enum=["json", "csv"], description="csv streams every matching row"),
    ]
    return params
