"""The admin console end to end: a real headless Chromium against a live `sat serve`.

Debian's ``chromium`` (``/usr/bin/chromium``) driven by Playwright for Python; no
browser is ever downloaded. Every page is watched: a console error, an uncaught
exception, a Content-Security-Policy violation, a JavaScript dialog or a request
to any other origin fails the test that caused it. Controls are found by the
accessible names the contract lists, so these tests also pin those names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.test_serve import create_admin, serving
from tests.support import ADMIN_PASSWORD, operation

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

# Reports what the page itself sees; Playwright runs init scripts outside the page's CSP.
WATCH_PAGE = """
window.__satProblems = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__satProblems.push(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
});
"""


# --- the server and the browser ---------------------------------------------------------------


@dataclass
class Server:
    base: str

    def graphql(self, name: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """Run an operation document as a script would (bearer, no cookie)."""
        return self.post(operation(name), variables, **kw)

    def post(
        self, document: str, variables: dict[str, Any] | None = None, *, bearer: str | None = None
    ) -> Any:
        headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": document, "variables": variables or {}},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def session(self) -> str:
        body = self.graphql("Login", {"username": "alice", "password": ADMIN_PASSWORD})
        token: str = body["data"]["login"]["token"]
        return token

    def create_token(self, name: str, **fields: Any) -> dict[str, Any]:
        body = self.graphql(
            "CreateSharedAccessToken", {"input": {"name": name, **fields}}, bearer=self.session()
        )
        assert "errors" not in body, body
        issued: dict[str, Any] = body["data"]["createSharedAccessToken"]
        return issued


def _start(tmp_path: Path) -> Iterator[Server]:
    create_admin(tmp_path)
    with serving(tmp_path, SAT_ACCESS_LOG="false") as (base, _log):
        yield Server(base)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module's tests; each test uses names of its own."""
    yield from _start(tmp_path_factory.mktemp("console"))


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[Server]:
    yield from _start(tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Watch:
    """Everything a page did that no page of the console should ever do."""

    origin: str
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        context.add_init_script(WATCH_PAGE)
        context.route(re.compile(r".*"), self._route)
        context.on("page", self._page)

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if not url.startswith(f"{self.origin}/"):
            self.problems.append(f"request to another origin: {url}")
            route.abort()
            return
        route.continue_()

    def _page(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self, page: Any) -> None:
        if not page.is_closed():
            self.problems.extend(page.evaluate("window.__satProblems"))
        assert self.problems == []
        assert self.dialogs == []


@pytest.fixture
def watch(server: Server) -> Watch:
    return Watch(origin=server.base)


@pytest.fixture
def page(browser: Any, server: Server, watch: Watch) -> Iterator[Any]:
    """A fresh browser profile (no cookies) at 1280 px; fails the test on any page problem."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=server.base, locale="en-GB"
    )
    watch.attach(context)
    opened = context.new_page()
    yield opened
    watch.check(opened)
    context.close()


def log_in(page: Any, *, username: str = "alice", password: str = ADMIN_PASSWORD) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Shared Access Tokens", exact=True)).to_be_visible()


def shot(page: Any, name: str, target: Any = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (target or page).screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def tree_row(scope: Any, name: str) -> Any:
    """The access tree's row for an area or folder: its accessible name starts with ``name``."""
    return scope.get_by_role("row", name=re.compile(rf"^{re.escape(name)}\b"))


def audit_actions(page: Any) -> list[str]:
    return [a.strip() for a in page.locator("table.audit [data-action]").all_inner_texts()]


# --- the workflow ------------------------------------------------------------------------------


def test_an_admin_creates_uses_changes_rolls_and_revokes_a_token(
    page: Any, server: Server, watch: Watch
) -> None:
    log_in(page)
    page.get_by_role("button", name="New Shared Access Token").click()
    expect(page.get_by_role("heading", name="New Shared Access Token")).to_be_visible()
    page.get_by_label("Title").fill("Payroll export for Acme")
    expect(page.get_by_label("Expiration")).to_have_value("365")
    page.get_by_label("Expiration").select_option(label="90 days")

    # An area grant (Payroll: read) and a folder grant (Employees › Contracts: write).
    payroll = tree_row(page, "Payroll")
    payroll.get_by_role("checkbox", name="Read", exact=True).check()
    employees = tree_row(page, "Employees")
    expand = employees.get_by_role("button", name="Expand", exact=True)
    expect(expand).to_have_attribute("aria-expanded", "false")
    expand.click()
    expect(expand).to_have_attribute("aria-expanded", "true")
    contracts = tree_row(page, "Contracts")
    contracts.get_by_role("checkbox", name="Write", exact=True).check()
    # The area's box covers its folders, and the tree shows it.
    payroll.get_by_role("button", name="Expand", exact=True).click()
    payslips_read = tree_row(page, "Payslips").get_by_role("checkbox", name="Read", exact=True)
    expect(payslips_read).to_be_checked()
    expect(payslips_read).to_be_disabled()

    page.get_by_role("button", name="Add IP range").click()
    page.get_by_label("Label").fill("this machine")
    page.get_by_label("IP Address from").fill("127.0.0.1")
    shot(page, "new-token", page.locator("main"))
    page.get_by_role("button", name="Generate").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    access_field = dialog.get_by_label("Access token")
    refresh_field = dialog.get_by_label("Refresh key")
    expect(access_field).to_have_attribute("readonly", "")
    expect(refresh_field).to_have_attribute("readonly", "")
    expect(dialog.get_by_role("button", name="Copy")).to_have_count(2)
    expect(dialog).to_contain_text("shown only this once")
    access_token = access_field.input_value()
    refresh_key = refresh_field.input_value()
    assert access_token.startswith("sat_")
    assert refresh_key.startswith("satr_")
    shot(page, "shown-once")

    # Escape does not throw the secrets away, and leaving the page asks first.
    page.keyboard.press("Escape")
    expect(dialog).to_be_visible()
    page.evaluate("location.reload()")
    expect(dialog).to_be_visible()
    assert [d.split(":")[0] for d in watch.dialogs] == ["beforeunload"]
    watch.dialogs.clear()
    dialog.get_by_role("button", name="I have copied them").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Payroll export for Acme")).to_be_visible()

    # Both secrets work, for a service client and for the third party's automation.
    session = server.session()
    secret = server.graphql("CreateServiceClient", {"name": "gateway-workflow"}, bearer=session)[
        "data"
    ]["createServiceClient"]["secret"]
    for area, folder, access in [
        ("payroll", "payslips", "READ"),
        ("employees", "contracts", "WRITE"),
    ]:
        validation = server.graphql(
            "ValidateToken",
            {
                "token": access_token,
                "ip": "127.0.0.1",
                "area": area,
                "folder": folder,
                "access": access,
            },
            bearer=secret,
        )
        assert validation["data"]["validateToken"]["valid"] is True, (area, validation)
    denied = server.graphql(
        "ValidateToken",
        {"token": access_token, "ip": "127.0.0.1", "area": "payroll", "access": "WRITE"},
        bearer=secret,
    )
    assert denied["data"]["validateToken"]["reason"] == "NOT_PERMITTED"
    refreshed = server.graphql("RefreshAccessToken", {"refreshKey": refresh_key})
    assert "errors" not in refreshed, refreshed
    assert refreshed["data"]["refreshAccessToken"]["accessToken"].startswith("sat_")

    # The overview lists it; search finds it.
    page.get_by_role("link", name="Shared Access Tokens", exact=True).click()
    row = page.get_by_role("row", name=re.compile("^Payroll export for Acme"))
    expect(row).to_be_visible()
    expect(row).to_contain_text("Payroll: read")
    expect(row).to_contain_text("Employees › Contracts: write")
    expect(row).to_contain_text("90 days left")
    expect(row).to_contain_text("from 127.0.0.1")
    page.get_by_label("Search").fill("export for ACME")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(row).to_be_visible()
    page.get_by_label("Search").fill("no such token at all")
    expect(page.locator("tbody tr")).to_have_count(0)
    page.get_by_label("Search").fill("export for acme")
    row.get_by_role("link", name="Payroll export for Acme").click()
    expect(page.get_by_role("heading", name="Payroll export for Acme", level=1)).to_be_visible()

    # Grants and ranges, edited in place.
    tree_row(page, "Payroll").get_by_role("checkbox", name="Write", exact=True).check()
    page.get_by_role("button", name="Save access").click()
    expect(page.get_by_role("status")).to_have_text("Access saved")
    page.get_by_role("button", name="Add IP range").click()
    page.get_by_label("IP Address from").nth(1).fill("10.20.0.0/16")
    page.get_by_role("button", name="Save IP ranges").click()
    expect(page.get_by_role("status")).to_have_text("IP ranges saved")
    page.reload()
    expect(page.get_by_label("IP Address from").nth(1)).to_have_value("10.20.0.0")
    expect(page.get_by_label("IP Address to").nth(1)).to_have_value("10.20.255.255")
    expect(
        tree_row(page, "Payroll").get_by_role("checkbox", name="Write", exact=True)
    ).to_be_checked()

    # Roll: confirmed in a dialog whose button is named Roll; the new pair is shown once.
    page.get_by_role("button", name="Roll").click()
    confirm = page.get_by_role("dialog")
    confirm.get_by_role("button", name="Roll").click()
    rolled = page.get_by_role("dialog")
    expect(rolled.get_by_label("Access token")).to_have_value(re.compile("^sat_"))
    new_access = rolled.get_by_label("Access token").input_value()
    assert new_access != access_token
    rolled.get_by_role("button", name="I have copied them").click()
    valid = server.graphql(
        "ValidateToken",
        {"token": new_access, "ip": "127.0.0.1", "area": "payroll", "access": "WRITE"},
        bearer=secret,
    )
    assert valid["data"]["validateToken"]["valid"] is True

    # Revoke, confirmed; then the page says so and offers no more changes.
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator("[data-status]").first).to_have_text("Revoked")
    expect(page.get_by_role("button", name="Roll")).to_be_hidden()
    revoked = server.graphql(
        "ValidateToken",
        {"token": new_access, "ip": "127.0.0.1", "area": "payroll", "access": "READ"},
        bearer=secret,
    )
    assert revoked["data"]["validateToken"]["reason"] == "REVOKED"

    # Each step in the token's audit trail, newest first.
    expect(page.locator("table.audit [data-action]").first).to_have_text("TOKEN_REVOKED")
    actions = audit_actions(page)
    for action in [
        "TOKEN_REVOKED",
        "TOKEN_ROLLED",
        "IP_RANGES_CHANGED",
        "GRANTS_CHANGED",
        "TOKEN_REFRESHED",
        "TOKEN_CREATED",
    ]:
        assert action in actions, actions
    assert (
        actions.index("TOKEN_REVOKED")
        < actions.index("TOKEN_ROLLED")
        < actions.index("TOKEN_CREATED")
    )
    page.get_by_role("link", name="All of this token's events in the Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.locator("table.audit [data-action]").first).to_have_text("TOKEN_REVOKED")
