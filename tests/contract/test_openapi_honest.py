"""schemathesis against the app, as an admin and as a borrower: no server error, and every
answer is one the OpenAPI document describes (status, content type, headers, body schema).

The budget is bounded (a few examples per operation, SQLite only) so the run stays within a
few minutes; raise ARCHIVE_TWIN_SCHEMATHESIS_EXAMPLES for a deeper run.
"""

from __future__ import annotations

import os
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

# The default checks of the issue: no server error, and the answer conforms to the document.
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance,
          schemathesis.checks.response_headers_conformance,
          schemathesis.checks.response_schema_conformance]
EXAMPLES = int(os.environ.get("ARCHIVE_TWIN_SCHEMATHESIS_EXAMPLES", "6"))
BUDGET = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False)


def _walk(app, headers: dict[str, str]) -> list[str]:
    """Every operation with generated cases and the default checks; the failures, in words."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @BUDGET
        def check(case) -> None:
            case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=CHECKS)

        try:
            check()
        except BaseException as exc:  # collected: one run names every operation that fails
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = "".join(traceback.format_exception_only(exc)).strip()
            failures.append(f"{operation.label}: {text[:1500]}")
    return failures


@pytest.mark.parametrize("role", ["admin", "borrower"])
def test_the_api_answers_what_its_openapi_says(client, auth, database_url, role):
    if not database_url.startswith("sqlite"):
        pytest.skip("schemathesis runs once, on SQLite, to keep its budget")
    failures = _walk(client.app, auth(role))
    assert not failures, f"{len(failures)} operations fail:\n\n" + "\n\n".join(failures)
