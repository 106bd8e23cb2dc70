from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from ailog.signals import log_changed
        from analytics import checks  # noqa: F401  (registers the system check)
        from analytics.selectors import contexts_seen
        from analytics.services import aggregates_apply, version_prediction_request
        from profiles.signals import profile_version_saved
        from profiles.traffic import contexts_seen_register

        # The aggregates follow every write to the log, in its transaction (analytics.services).
        log_changed.connect(aggregates_apply, dispatch_uid="analytics.aggregates_apply")
        # Each saved version gets the prediction made for it, after the save commits.
        profile_version_saved.connect(version_prediction_request, dispatch_uid="analytics.version_prediction")
        # The rule editor (in profiles, below us) asks which contexts the log has seen.
        contexts_seen_register(contexts_seen)
