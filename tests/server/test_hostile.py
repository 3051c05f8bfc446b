"""Attacks on a real `sat serve`: each is refused as the contract says, and the server stays well.

"Stays well" is /healthz answering at all within a generous guard after the attack,
and, for the memory attacks, resident memory read from /proc before and after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.test_serve import create_admin, serving
from tests.support import ADMIN_PASSWORD, operation

GUARD_SECONDS = 10
VALIDATE_FIELD = (
    'v%d: validateToken(token: "sat_x", ip: "10.0.0.1", area: "a", access: READ) { valid }'
)
# Run on the embedded database whatever the suite uses, with no proxy trusted.
PLAIN = {"SAT_DATABASE_URL": "", "SAT_TRUSTED_PROXIES": ""}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    workdir = tmp_path_factory.mktemp("hostile")
    create_admin(workdir)
    with serving(workdir, **PLAIN) as running:
        yield running


@pytest.fixture(scope="module")
def base(server: tuple[str, Path]) -> str:
    return server[0]


@pytest.fixture(scope="module")
def service_secret(base: str) -> str:
    session = post(base, operation("Login"), {"username": "alice", "password": ADMIN_PASSWORD})
    token = session.json()["data"]["login"]["token"]
    issued = post(base, operation("CreateServiceClient"), {"name": "gateway"}, bearer=token)
    return str(issued.json()["data"]["createServiceClient"]["secret"])


def post(
    base: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if bearer:
        sent["Authorization"] = f"Bearer {bearer}"
    return httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=sent,
        timeout=GUARD_SECONDS * 3,
    )


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


def assert_healthy(base: str) -> None:
    assert httpx.get(f"{base}/healthz", timeout=GUARD_SECONDS).status_code == 200


def resident_kib(base: str) -> int:
    """VmRSS of the `sat serve` process listening on ``base``'s port."""
    port = base.rsplit(":", 1)[1]
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            arguments = (process / "cmdline").read_bytes().split(b"\0")
            status = (process / "status").read_text()
        except OSError:
            continue
        if b"serve" in arguments and port.encode() in arguments:
            found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            assert found is not None
            return int(found.group(1))
    raise AssertionError(f"no sat serve process on port {port}")


FLOODS = {
    "4000-aliases": "{ " + " ".join(VALIDATE_FIELD % i for i in range(4_000)) + " }",
    "31-aliases": "{ " + " ".join(VALIDATE_FIELD % i for i in range(31)) + " }",
    "100000-tokens": "{ " + "me " * 100_000 + "}",
    "deep": "{ " + "a { " * 400 + "b" + " }" * 401,
    "depth-11": "{ " + "a { " * 10 + "b" + " }" * 11,
    "long-literal": '{ validateToken(token: "' + "x" * 600_000 + '") { valid } }',
    "fragment-doubling": "{ ...F0 } "
    + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    + " fragment F30 on Query { x: me { username } }",
}


@pytest.mark.parametrize("caller", ["anonymous", "service-client"])
@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_a_flood_document_is_refused_before_it_runs(
    base: str, service_secret: str, flood: str, caller: str
) -> None:
    bearer = service_secret if caller == "service-client" else None

    response = post(base, FLOODS[flood], bearer=bearer)

    assert response.status_code == 200
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    assert response.json()["data"] is None
    assert_healthy(base)


def list_literal(value: int) -> str:
    """A document of about 600 KB, distinct for each ``value``."""
    return "{ validateToken(token: [" + ",".join([str(value)] * 150_000) + "]) { valid } }"


def test_distinct_large_documents_leave_no_memory_behind(base: str) -> None:
    """The issue's attack: each 600 KB list literal kept ~110 MB in the parse cache."""
    for i in range(3):  # warm up whatever a first refusal allocates
        post(base, list_literal(i))
    before = resident_kib(base)

    for i in range(3, 13):
        response = post(base, list_literal(i))
        assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]

    grown = resident_kib(base) - before
    assert grown < 30 * 1024, f"resident memory grew by {grown} KiB"
    assert_healthy(base)


def test_distinct_valid_documents_are_kept_within_the_cache_bound(base: str) -> None:
    padding = " " * 40_000
    for i in range(20):  # fill the document cache once
        post(base, f"{{ me {{ username }} }}{padding}# {i}")
    before = resident_kib(base)

    for i in range(300):
        assert post(base, f"{{ me {{ username }} }}{padding}#{i}").json() == {"data": {"me": None}}

    grown = resident_kib(base) - before
    assert grown < 30 * 1024, f"resident memory grew by {grown} KiB"


BAD_BODIES = {
    "invalid-utf8": (b'{"query": "{ me { username } }\xff"}', "application/json", 400),
    "number": (b"12345", "application/json", 400),
    "null": (b"null", "application/json", 400),
    "string": (b'"{ me { username } }"', "application/json", 400),
    "deep-json": (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    "deep-variables": (
        b'{"query": "{ me { username } }", "variables": {"a": ' + b"[" * 500 + b"]" * 500 + b"}}",
        "application/json",
        400,
    ),
    "batch": (b'[{"query": "{ me { username } }"}]', "application/json", 400),
    "empty": (b"", "application/json", 400),
    "no-query": (b'{"variables": {}}', "application/json", 400),
    "query-not-a-string": (b'{"query": 12}', "application/json", 400),
    "variables-not-an-object": (
        b'{"query": "{ me { username } }", "variables": [1]}',
        "application/json",
        400,
    ),
    "unknown-operation-name": (
        b'{"query": "query A { me { username } }", "operationName": "B"}',
        "application/json",
        400,
    ),
    "several-operations": (
        b'{"query": "query A { me { username } } query B { me { username } }"}',
        "application/json",
        400,
    ),
    "form-encoded": (b"query=%7Bme%7D", "application/x-www-form-urlencoded", 415),
    "over-one-mebibyte": (b" " * ((1 << 20) + 1), "application/json", 413),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_a_bad_body_is_a_4xx_json_bad_request(base: str, name: str) -> None:
    body, content_type, status = BAD_BODIES[name]

    response = httpx.post(
        f"{base}/graphql",
        content=body,
        headers={"content-type": content_type},
        timeout=GUARD_SECONDS,
    )

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert codes(response) == ["BAD_REQUEST"]
    assert response.json()["errors"][0]["message"]
    assert_healthy(base)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_refused_as_json(base: str, method: str) -> None:
    response = httpx.request(method, f"{base}/graphql", timeout=GUARD_SECONDS)

    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    assert codes(response) == ["BAD_REQUEST"]


def test_a_get_with_a_query_is_refused_as_json(base: str) -> None:
    response = httpx.get(
        f"{base}/graphql",
        params={"query": "{ me { username } }"},
        headers={"accept": "application/json"},
    )

    assert 400 <= response.status_code < 500
    assert codes(response) == ["BAD_REQUEST"]


def test_graphql_response_json_is_answered_with_the_specification_status_codes(base: str) -> None:
    asked = {"accept": "application/graphql-response+json, application/json;q=0.9"}

    parse_failure = post(base, "{ me { ", headers=asked)
    invalid = post(base, "{ noSuchField }", headers=asked)
    fine = post(base, "{ me { username } }", headers=asked)
    plain = post(base, "{ noSuchField }")

    for refused, code in (
        (parse_failure, "GRAPHQL_PARSE_FAILED"),
        (invalid, "GRAPHQL_VALIDATION_FAILED"),
    ):
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/graphql-response+json")
        assert "data" not in refused.json()
        assert codes(refused) == [code]
    assert fine.status_code == 200
    assert fine.headers["content-type"].startswith("application/graphql-response+json")
    assert fine.json() == {"data": {"me": None}}
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("application/json")


def test_every_graphql_response_says_no_store(base: str, service_secret: str) -> None:
    answers = [
        post(base, "{ me { username } }"),
        post(base, "{ me { ", bearer=service_secret),
        post(
            base,
            operation("ValidateToken"),
            {"token": "sat_x", "ip": "10.0.0.1", "area": "employees", "access": "READ"},
            bearer=service_secret,
        ),
        httpx.get(f"{base}/graphql", headers={"accept": "text/html"}),
        httpx.put(f"{base}/graphql"),
    ]

    for response in answers:
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_graphiql_page_carries_a_strict_policy(base: str) -> None:
    page = httpx.get(f"{base}/graphql", headers={"accept": "text/html"})

    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "'sha256-" in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_forged_line_in_the_path_stays_on_the_access_line(server: tuple[str, Path]) -> None:
    base, output = server

    httpx.get(f"{base}/x%0A2026-01-01 00:00:00,000 INFO sat.access: forged%1B[31m%E2%80%AE")
    assert_healthy(base)

    text = output.read_text()
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert not any(line.startswith("2026-01-01 00:00:00,000") for line in text.splitlines())
    assert "/x\\n2026-01-01 00:00:00,000 INFO sat.access: forged\\x1b[31m\\u202e" in text


def test_in_production_introspection_graphiql_and_suggestions_are_off(tmp_path: Path) -> None:
    with serving(tmp_path, SAT_ENV="production", **PLAIN) as (base, _):
        introspection = post(base, "{ __schema { types { name } } }")
        misspelt = post(base, "{ mee { username } }")
        page = httpx.get(f"{base}/graphql", headers={"accept": "text/html"})

    assert set(codes(introspection)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "Did you mean" not in json.dumps(misspelt.json())
    assert codes(misspelt) == ["GRAPHQL_VALIDATION_FAILED"]
    assert not page.headers["content-type"].startswith("text/html")


def test_in_production_introspection_can_be_turned_back_on(tmp_path: Path) -> None:
    with serving(tmp_path, SAT_ENV="production", SAT_INTROSPECTION="true", **PLAIN) as (base, _):
        introspection = post(base, "{ __schema { queryType { name } } }")

    assert introspection.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


# --- input hygiene ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin_session(base: str) -> str:
    session = post(base, operation("Login"), {"username": "alice", "password": ADMIN_PASSWORD})
    return str(session.json()["data"]["login"]["token"])


def validate_at(base: str, secret: str, ip: str) -> httpx.Response:
    return post(
        base,
        operation("ValidateToken"),
        {"token": "sat_x", "ip": ip, "area": "employees", "access": "READ"},
        bearer=secret,
    )


@pytest.mark.parametrize(
    "ip",
    [
        "fe80::1%eth0",
        "fe80::1%<img src=x onerror=alert(1)>" + "x" * 200_000,
        " " * 1_000 + "10.0.0.1x",
        "1" * 46,
    ],
    ids=["zone-id", "zone-id-with-markup", "padded-garbage", "over-45"],
)
def test_an_unusable_ip_is_bad_user_input_naming_the_field(
    base: str, service_secret: str, ip: str
) -> None:
    response = validate_at(base, service_secret, ip)

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "ip"
    assert len(error["message"]) < 200


def test_a_megabyte_padded_ip_is_refused_and_leaves_nothing_behind(
    base: str, service_secret: str
) -> None:
    """The issue's attack: 100 calls with a 1 MB padded address added 97 MB."""
    for i in range(3):
        validate_at(base, service_secret, " " * 900_000 + f"10.0.0.{i}")
    before = resident_kib(base)

    for i in range(60):
        answer = validate_at(base, service_secret, " " * 900_000 + f"10.0.{i}.1")
        assert answer.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "ip"}

    grown = resident_kib(base) - before
    assert grown < 30 * 1024, f"resident memory grew by {grown} KiB"
    assert_healthy(base)


def test_a_padded_ip_gets_the_same_answer_on_the_compiled_and_the_general_path(
    base: str, service_secret: str
) -> None:
    general = operation("ValidateToken").replace("valid\n", "valid\n    __typename\n", 1)
    general = general.replace("validateToken(", "__typename\n  validateToken(", 1)
    for ip in (" " * 500 + "10.0.0.1", " " * 2_000 + "10.0.0.1"):
        variables = {"token": "sat_x", "ip": ip, "area": "employees", "access": "READ"}
        compiled = post(base, operation("ValidateToken"), variables, bearer=service_secret).json()
        other = post(base, general, variables, bearer=service_secret).json()

        assert ("errors" in compiled) == ("errors" in other)
        if "errors" in other:
            assert compiled["errors"][0]["extensions"] == other["errors"][0]["extensions"]
        else:
            assert compiled["data"]["validateToken"]["reason"] == "MALFORMED"
            assert other["data"]["validateToken"]["reason"] == "MALFORMED"


def test_a_zone_id_in_an_ip_range_is_refused(base: str, admin_session: str) -> None:
    response = post(
        base,
        operation("CreateSharedAccessToken"),
        {"input": {"name": "zoned", "ipRanges": [{"from": "fe80::1%eth0"}]}},
        bearer=admin_session,
    )

    assert codes(response) == ["BAD_USER_INPUT"]


LONG = "x" * 5_000
TEXT_ARGUMENTS = {
    "login-username": ("Login", {"username": LONG, "password": ADMIN_PASSWORD}, "username"),
    "login-password": ("Login", {"username": "alice", "password": "p" * 1_025}, "password"),
    "login-surrogate": ("Login", {"username": "ali\ud800ce", "password": "x"}, "username"),
    "password-surrogate": (
        "Login",
        {"username": "alice", "password": "pass\udfffword"},
        "password",
    ),
    "name-long": ("CreateSharedAccessToken", {"input": {"name": LONG}}, "name"),
    "name-surrogate": ("CreateSharedAccessToken", {"input": {"name": "Ac\ud800me"}}, "name"),
    "name-bidi": ("CreateSharedAccessToken", {"input": {"name": "Acme\u202eevil"}}, "name"),
    "name-zero-width": ("CreateSharedAccessToken", {"input": {"name": "Ac\u200bme"}}, "name"),
    "name-nul": ("CreateSharedAccessToken", {"input": {"name": "Ac\x00me"}}, "name"),
    "label-surrogate": (
        "CreateSharedAccessToken",
        {"input": {"name": "Acme", "ipRanges": [{"from": "10.0.0.1", "label": "of\ud800fice"}]}},
        "label",
    ),
    "label-nul": (
        "CreateSharedAccessToken",
        {"input": {"name": "Acme", "ipRanges": [{"from": "10.0.0.1", "label": "of\x00fice"}]}},
        "label",
    ),
    "label-bidi": (
        "CreateSharedAccessToken",
        {"input": {"name": "Acme", "ipRanges": [{"from": "10.0.0.1", "label": "a\u202eb"}]}},
        "label",
    ),
    "search-long": ("SharedAccessTokens", {"search": "x" * 101}, "search"),
    "search-surrogate": ("SharedAccessTokens", {"search": "\ud800"}, "search"),
    "service-client-name": ("CreateServiceClient", {"name": "gate\ud800way"}, "name"),
}


@pytest.mark.parametrize("case", sorted(TEXT_ARGUMENTS))
def test_bad_text_in_an_argument_is_bad_user_input_naming_it(
    base: str, admin_session: str, case: str
) -> None:
    name, variables, field = TEXT_ARGUMENTS[case]
    body = json.dumps({"query": operation(name), "variables": variables}).encode()

    response = httpx.post(
        f"{base}/graphql",
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {admin_session}"},
        timeout=GUARD_SECONDS,
    )

    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    assert str(errors[0]["extensions"]["field"]).split(".")[-1] == field
    assert LONG not in errors[0]["message"]
    assert_healthy(base)


def test_a_login_with_an_over_long_password_is_refused_not_cut(base: str) -> None:
    response = post(
        base,
        operation("Login"),
        {"username": "alice", "password": ADMIN_PASSWORD + "x" * 1_024},
    )

    assert codes(response) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "cursor",
    [
        "aWQ6" + "OTk5" * 10,  # "id:" and 30 nines
        "x" * 100_000,
        "aWQ6MjE0NzQ4MzY0OA",  # "id:2147483648", one past the largest row id
    ],
    ids=["many-digits", "long", "past-the-largest-id"],
)
def test_a_cursor_of_any_length_is_bad_user_input(
    base: str, admin_session: str, cursor: str
) -> None:
    response = post(base, operation("SharedAccessTokens"), {"after": cursor}, bearer=admin_session)

    assert codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["errors"][0]["extensions"]["field"] == "after"


@pytest.mark.parametrize("token_id", ["9" * 19, "9" * 5_000, "2147483648", "-1", "１２"])
def test_an_id_of_any_form_names_nothing(base: str, admin_session: str, token_id: str) -> None:
    found = post(base, operation("SharedAccessToken"), {"id": token_id}, bearer=admin_session)
    revoked = post(
        base, operation("RevokeSharedAccessToken"), {"id": token_id}, bearer=admin_session
    )

    assert found.json() == {"data": {"sharedAccessToken": None}}
    assert codes(revoked) == ["NOT_FOUND"]


def test_a_validation_asked_for_as_graphql_response_json_gets_that_media_type(
    base: str, service_secret: str
) -> None:
    response = post(
        base,
        operation("ValidateToken"),
        {"token": "sat_x", "ip": "10.0.0.1", "area": "employees", "access": "READ"},
        bearer=service_secret,
        headers={"accept": "application/graphql-response+json, application/json"},
    )

    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert response.json()["data"]["validateToken"]["reason"] == "MALFORMED"
