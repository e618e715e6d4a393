"""The pages around the API: the landing page, the README, the admin's "View site"."""

import os
import re
import subprocess
import sys

from django.conf import settings


def test_landing_page_links_admin_api_and_readme(client):
    """`/` is a small page, not a 404, and points to everything a newcomer needs."""
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'href="([^"]+)"', html) == ["/admin/", "/graphql", "/README.md"]
    assert "http" not in html.replace('href="/', "")  # nothing from another host
    assert "GraphiQL" not in html  # DEBUG is off in tests


def test_readme_is_served_as_text(client):
    response = client.get("/README.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert b"".join(response.streaming_content) == (settings.BASE_DIR / "README.md").read_bytes()


def test_landing_page_refuses_writes(client):
    assert client.post("/").status_code == 405


def test_view_site_goes_to_the_landing_page_by_default(staff_client):
    html = staff_client.get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in html


def test_view_site_goes_to_frontend_url_when_set():
    """FRONTEND_URL, read from the environment, becomes the admin's "View site" link."""
    script = (
        "import glossary_backend.urls; from django.contrib import admin; print(admin.site.site_url)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        env={**os.environ, "FRONTEND_URL": "https://glossary.example.com"},
        cwd=settings.BASE_DIR, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.splitlines()[-1] == "https://glossary.example.com"
