from django.apps import AppConfig


class AilogConfig(AppConfig):
    name = "ailog"
    verbose_name = "AI attempt and run log"

    def ready(self) -> None:
        from ailog.services.versions import runs_reattribute
        from profiles.signals import profile_version_saved

        # A version saved before the timestamp of runs already posted (ahead of this server's
        # clock) takes them over: attribution follows the run's timestamp (ailog.services.versions).
        profile_version_saved.connect(runs_reattribute, dispatch_uid="ailog.runs_reattribute")
