"""WSGI entry point (gunicorn rmos_site.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmos_site.settings")
application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their modules) lives as long as the process: move it
# out of the collector's generations, so that no collection walks it again (issue 19). Collected
# first, so that no garbage of start-up is kept for good.
gc.collect()
gc.freeze()
