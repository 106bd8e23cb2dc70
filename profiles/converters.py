"""URL converter for profile names: only a valid name reaches a view (others are a 404)."""
from django.urls import register_converter


class ProfileNameConverter:
    regex = r"[a-z0-9][a-z0-9_-]{0,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ProfileNameConverter, "profile_name")
