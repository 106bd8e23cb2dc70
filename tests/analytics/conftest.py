"""The AI log's fixtures (clients, profiles) serve the analytics tests too."""

from tests.ailog.conftest import anonymous, default_profile, integrator, viewer  # noqa: F401
