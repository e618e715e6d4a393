"""WSGI entry point; the README's deployment section serves it with gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glossary_backend.settings")

application = get_wsgi_application()
