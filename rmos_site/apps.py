from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RmosSiteConfig(AppConfig):
    name = "rmos_site"
    verbose_name = "RMOS site"

    def ready(self) -> None:
        from rmos_site import checks  # noqa: F401 - registers the system checks
        from rmos_site.roles import ensure_roles_after_migrate

        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="rmos_site.ensure_roles")
