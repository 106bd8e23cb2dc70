from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark suite behind ``./dev bench`` (``manage.py benchmark``): installed only so that
    Django finds its command; it has no models and nothing imports it."""

    name = "bench"
    verbose_name = "RMOS benchmarks"
