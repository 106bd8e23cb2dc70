from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "Constraint profiles"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from profiles import checks  # noqa: F401 - registers the system checks
        from profiles.journal import stamp_journal_fields

        pre_create_historical_record.connect(stamp_journal_fields, dispatch_uid="profiles.stamp_journal_fields")
