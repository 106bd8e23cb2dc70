"""Base views shared by the apps' APIs. (Kept apart from :mod:`rmos_site.api`, which DRF's settings
import while ``rest_framework.views`` is still loading.)"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.views import APIView

from rmos_site.errors import FieldError, ValidationFailed


class NoQueryParamsApi(APIView):
    """An endpoint that takes no query parameters refuses any it is given (but ``format``), as the
    endpoints with parameters refuse unknown ones: a typo never silently answers something else."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - {api_settings.URL_FORMAT_OVERRIDE})
        if unknown:
            raise ValidationFailed(
                errors=[FieldError(key, "unknown_field", "this endpoint takes no query parameters") for key in unknown]
            )
