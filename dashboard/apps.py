from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The operator pages (DESIGN §5, §12): the top layer; it reads and writes through the other
    apps' selectors and services, and nothing imports it."""

    name = "dashboard"
    verbose_name = "RMOS dashboard"
