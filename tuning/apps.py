from django.apps import AppConfig


class TuningConfig(AppConfig):
    name = "tuning"
    verbose_name = "Tuning assistant"

    def ready(self) -> None:
        import optuna

        # Optuna logs every study it creates at INFO; jobs report through their own rows.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
