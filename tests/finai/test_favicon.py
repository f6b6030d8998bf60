"""Every page links an SVG favicon served from the app's own static files, and /favicon.ico, which browsers ask
for whatever a page links, leads to it instead of a 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_page_links_the_svg_favicon():
    html = Client().get("/login/").content.decode()

    assert f'<link rel="icon" href="{static("img/favicon.svg")}" type="image/svg+xml">' in html


def test_favicon_ico_leads_to_the_svg_icon_for_anyone():
    response = Client().get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == static("img/favicon.svg")


def test_the_icon_is_a_static_file_of_the_app_that_needs_no_network():
    icon = Path(finders.find("img/favicon.svg")).read_text()

    assert icon.startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in icon
    assert "href" not in icon  # nothing fetched from elsewhere
