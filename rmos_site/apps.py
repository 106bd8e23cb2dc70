from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_migrate


def _say_signed_out(sender, request, user, **kwargs) -> None:
    """The sign-in page a sign-out lands on says that it worked (it looked like any visit)."""
    if request is not None and user is not None:
        from django.contrib import messages

        messages.info(
            request, f"You are signed out, {user.get_username()}.", fail_silently=True
        )  # no middleware: test clients


class RmosSiteConfig(AppConfig):
    name = "rmos_site"
    verbose_name = "RMOS site"

    def ready(self) -> None:
        from rmos_site import checks, schema  # noqa: F401 - register the system checks, the token's schema
        from rmos_site.roles import ensure_roles_after_migrate

        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="rmos_site.ensure_roles")
        user_logged_out.connect(_say_signed_out, dispatch_uid="rmos_site.say_signed_out")
