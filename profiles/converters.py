"""URL converter for profile names.

Any path segment reaches the view, which answers a name that cannot exist (``Default``, say) with
the API's "no profile named …" 404 and the naming rule, rather than "no endpoint here".
"""

from django.urls import register_converter


class ProfileNameConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ProfileNameConverter, "profile_name")
