from django.apps import AppConfig


class AilogConfig(AppConfig):
    name = "ailog"
    verbose_name = "AI attempt and run log"
