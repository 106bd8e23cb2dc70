"""Loaded by pytest before Django (see pytest.ini): environment defaults for the test run.

Only defaults: anything already set (DATABASE_URL for the PostgreSQL run, for instance) wins.
The canonical YAML in the repository is never the export target of a test; tests that export
point RMOS_PROFILE_YAML_PATH at their own temporary directory (see conftest.py).
"""

import os
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ["RMOS_PROFILE_YAML_PATH"] = os.path.join(tempfile.mkdtemp(prefix="rmos-test-"), "profiles.yaml")
os.environ.pop("RMOS_PROFILE_HISTORY_PATH", None)
os.environ.setdefault("ENABLE_RMOS_PROFILE_ADMIN", "true")
