from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from ailog.signals import log_changed
        from analytics.services import aggregates_apply

        # The aggregates follow every write to the log, in its transaction (analytics.services).
        log_changed.connect(aggregates_apply, dispatch_uid="analytics.aggregates_apply")
