"""Every API endpoint but signing in refuses a request without a token (401)."""

from __future__ import annotations

import re

import pytest

from server.app import create_app
from server.settings import Settings

OPEN = {("/api/auth/token", "post")}


def _endpoints() -> list[tuple[str, str]]:
    spec = create_app(Settings(secret_key="s" * 40, devices_enabled=False)).openapi()
    return sorted(
        (path, method) for path, operations in spec["paths"].items() if path.startswith("/api/")
        for method in operations if (path, method) not in OPEN
    )


ENDPOINTS = _endpoints()


def test_the_list_covers_the_api():
    assert len(ENDPOINTS) > 40
    assert ("/api/scan/{code}", "get") in ENDPOINTS and ("/api/loans", "get") in ENDPOINTS


@pytest.mark.parametrize(("path", "method"), ENDPOINTS)
def test_no_token_no_answer(client, path, method):
    concrete = re.sub(r"\{(\w+)(:path)?\}",
                      lambda m: "1" if m[1].endswith("id") else "B00000001", path)
    answer = client.request(method.upper(), concrete)
    assert answer.status_code == 401, f"{method.upper()} {path}: {answer.status_code} {answer.text[:200]}"
    assert answer.headers.get("www-authenticate") == "Bearer"
