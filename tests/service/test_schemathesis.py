"""Property-based tests of the whole API from its own OpenAPI document (schemathesis): whatever
valid or invalid request it generates, no answer is a 5xx, every status and body is documented,
and 405s list the allowed methods."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.conftest import LiveServer


def test_api_answers_every_request_without_a_server_error(live: LiveServer) -> None:
    token = live.app.state.service.store.create_key("fuzz", rate_limit=100_000).token
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    def run(operation: schemathesis.APIOperation) -> None:
        @given(data=st.data())
        @settings(
            max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(data: st.DataObject) -> None:
            case = data.draw(operation.as_strategy())
            # Content the schema allows may still be refused for what it is (an empty policy,
            # bytes that are not an image) with a documented 4xx, so "schema-valid data must be
            # accepted" is not a check here; everything else is, server errors first.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()

    for operation in operations:
        run(operation)
