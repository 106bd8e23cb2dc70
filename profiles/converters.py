"""URL converter for profile names: only a valid name reaches a view (others are a 404)."""
from django.urls import register_converter

from engine.profile import NAME_RE


class ProfileNameConverter:
    regex = NAME_RE.pattern.removeprefix("^").removesuffix("$")  # the one rule for profile names

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ProfileNameConverter, "profile_name")
