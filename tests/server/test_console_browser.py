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
    _session: str | None = None

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
        """A session of the test's own (not the browser's), made once per server."""
        if self._session is None:
            body = self.graphql("Login", {"username": "alice", "password": ADMIN_PASSWORD})
            self._session = body["data"]["login"]["token"]
        return self._session

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
        # Chromium's hint that a preloaded document went unused (the login screen never
        # needs the overview's): a performance note, not a fault of the page.
        if "was preloaded using link preload but not used" in message.text:
            return
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
    # The overview's first answer is in: its count, or the first-run hint.
    expect(page.locator("[data-count]:not(:empty), [data-first-run]:not([hidden])")).to_be_visible()


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


def test_service_clients_are_created_with_a_secret_shown_once_and_revoked(
    page: Any, server: Server
) -> None:
    log_in(page)
    page.get_by_role("link", name="Service clients", exact=True).click()
    expect(page.get_by_role("heading", name="Service clients")).to_be_visible()
    page.get_by_role("button", name="New service client").click()
    page.get_by_label("Name").fill("api-gateway-ui")
    page.get_by_role("button", name="Create").click()
    dialog = page.get_by_role("dialog")
    secret = dialog.get_by_label("Secret").input_value()
    assert secret.startswith("satc_")
    dialog.get_by_role("button", name="I have copied it").click()
    expect(dialog).to_be_hidden()
    assert "errors" not in server.post("query { areas { key } }", bearer=secret)

    row = page.get_by_role("row", name=re.compile("^api-gateway-ui"))
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("Revoked")
    refused = server.post("query { areas { key } }", bearer=secret)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["UNAUTHENTICATED"]


def test_a_hostile_token_name_renders_as_text_and_runs_nothing(
    page: Any, server: Server, watch: Watch
) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    issued = server.create_token(hostile)
    log_in(page)
    page.get_by_label("Search").fill("onerror")
    link = page.get_by_role("link", name=hostile, exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", name=hostile, level=1)).to_have_text(hostile)
    assert page.locator("main img").count() == 0
    page.get_by_role("link", name="Audit log", exact=True).click()
    expect(page.locator("table.audit").first).to_contain_text(hostile)
    assert page.locator("img").count() == 0
    assert issued["sharedAccessToken"]["name"] == hostile
    # No alert() ran, and no request for "x" was made (the watch fails on any dialog).
    assert not [url for url in watch.requests if url.rstrip("/").endswith("/x")]


def test_reload_keeps_the_session_and_logout_ends_it(page: Any, server: Server) -> None:
    log_in(page)
    page.reload()
    expect(page.get_by_role("heading", name="Shared Access Tokens", exact=True)).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["sat_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    # No page script can read the session, and nothing is kept in web storage.
    assert "sata_" not in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("alert")).to_have_text("You have logged out.")
    expect(page.get_by_label("Username")).to_be_visible()
    assert "sat_session" not in {c["name"] for c in page.context.cookies()}
    page.reload()
    expect(page.get_by_label("Username")).to_be_visible()
    me = server.post("query { me { username } }", bearer=session["value"])
    assert me["data"]["me"] is None


@pytest.mark.parametrize("address", ["/", "/#/?search=Opening+request"])
def test_a_load_asks_for_the_overview_at_once_and_only_once(
    page: Any, server: Server, address: str
) -> None:
    """The first page is asked for beside Me, not after its answer, and that answer is used.

    Me is held back until the overview's request has been sent: a page that waited for
    Me's answer first would never show a row.
    """
    server.create_token(f"Opening request for {address}")
    log_in(page)
    held: list[Any] = []
    asked: list[str] = []

    def hold_me(route: Any) -> None:
        name = (route.request.post_data_json or {}).get("operationName")
        asked.append(name)
        if name == "Me" and "SharedAccessTokens" not in asked:
            held.append(route)
            return
        if name == "SharedAccessTokens":
            for waiting in held:
                waiting.fallback()
            held.clear()
        route.fallback()

    page.route("**/graphql", hold_me)
    page.goto("about:blank")  # a load, not a same-document move to another #/ address
    page.goto(address)
    expect(page.get_by_role("row", name=re.compile("^Opening request")).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert sorted(asked) == ["Me", "SharedAccessTokens"]


def test_a_session_that_ends_elsewhere_sends_the_console_back_to_login(
    page: Any, server: Server
) -> None:
    log_in(page)
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "sat_session")
    assert server.post("mutation { logout }", bearer=session)["data"]["logout"] is True
    page.get_by_role("link", name="Service clients", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Your session has expired. Log in again.")
    expect(page.get_by_label("Username")).to_be_visible()


def test_a_failed_login_says_so(page: Any) -> None:
    page.goto("/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("invalid username or password")
    expect(page.get_by_label("Password")).to_be_focused()


def test_a_rate_limited_login_says_so(page: Any, server: Server) -> None:
    for _ in range(10):
        server.graphql("Login", {"username": "mallory", "password": "guess guess guess"})
    page.goto("/")
    page.get_by_label("Username").fill("mallory")
    page.get_by_label("Password").fill("one more guess")
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("too many attempts")
    expect(alert).to_contain_text(re.compile(r"wait about (an?|\d+) (second|minute|hour)s?"))


@pytest.mark.parametrize(
    ("title", "field_message"),
    [
        pytest.param("   ", "name must be 1 to 100 characters after trimming", id="blank-title"),
        pytest.param("Name in use", "is already used", id="name-in-use"),
    ],
)
def test_a_server_field_error_shows_next_to_its_field(
    page: Any, server: Server, title: str, field_message: str
) -> None:
    if title.strip():
        server.create_token(title)
    log_in(page)
    page.get_by_role("button", name="New Shared Access Token").click()
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Generate").click()
    field = page.get_by_label("Title")
    expect(field).to_have_attribute("aria-invalid", "true")
    note = page.locator(f"#{field.get_attribute('aria-describedby')}")
    expect(note).to_contain_text(field_message)
    expect(note).to_be_visible()
    expect(field).to_be_focused()
    # Editing the field clears the server's complaint.
    field.fill("A fresh name")
    expect(field).not_to_have_attribute("aria-invalid", "true")


def test_ip_ranges_are_checked_as_typed(page: Any) -> None:
    log_in(page)
    page.get_by_role("button", name="New Shared Access Token").click()
    page.get_by_role("button", name="Add IP range").click()
    start = page.get_by_label("IP Address from")
    end = page.get_by_label("IP Address to")
    start.fill("10.0.0.300")
    expect(start).to_have_attribute("aria-invalid", "true")
    start.fill("10.0.0.10")
    expect(start).not_to_have_attribute("aria-invalid", "true")
    end.fill("10.0.0.1")
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{end.get_attribute('aria-describedby')}")).to_have_text(
        "to must not be lower than from"
    )
    end.fill("2001:db8::1")
    expect(page.locator(f"#{end.get_attribute('aria-describedby')}")).to_have_text(
        "to must be of the same IP family as from"
    )
    end.fill("10.0.1.0")
    expect(end).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_label("IP Address from")).to_have_count(0)


def test_the_keyboard_alone_creates_a_token(page: Any, server: Server) -> None:
    page.goto("/")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Shared Access Tokens", exact=True)).to_be_visible()
    tab_to(page, "New Shared Access Token")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Title")).to_be_visible()
    tab_to(page, "Title")
    page.keyboard.type("Typed by keyboard")
    tab_to(page, "Expand")  # the first area's (Employees)
    page.keyboard.press("Enter")
    tab_to(page, "Read")  # Employees: read
    page.keyboard.press("Space")
    tab_to(page, "Add IP range")
    page.keyboard.press("Enter")
    expect(page.get_by_label("IP Address from")).to_be_focused()
    page.keyboard.type("192.0.2.0/24")
    tab_to(page, "Generate")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Access token")).to_have_value(re.compile("^sat_"))
    tab_to(page, "I have copied them")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Typed by keyboard", level=1)).to_be_visible()
    token = server.post(
        'query { sharedAccessTokens(search: "Typed by keyboard") { nodes { grants { area '
        "{ key } folder { key } read } ipRanges { from to } } } }",
        bearer=server.session(),
    )["data"]["sharedAccessTokens"]["nodes"][0]
    assert token["grants"] == [{"area": {"key": "employees"}, "folder": None, "read": True}]
    assert token["ipRanges"] == [{"from": "192.0.2.0", "to": "192.0.2.255"}]


def tab_to(page: Any, name: str, *, limit: int = 80) -> None:
    """Press Tab until the focused control's accessible name is ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
              const el = document.activeElement;
              if (!el) return "";
              const label = el.labels && el.labels[0];
              return (label ? label.textContent : el.textContent).trim();
            }"""
        )
        if focused == name:
            return
    pytest.fail(f"Tab never reached {name!r}")


def test_tokens_expiring_within_14_days_stand_out_and_filter(page: Any, server: Server) -> None:
    server.create_token("Short-lived export", expiresInDays=7)
    server.create_token("Long-lived export", expiresInDays=365)
    log_in(page)
    page.get_by_label("Search").fill("-lived export")
    soon = page.get_by_role("row", name=re.compile("^Short-lived export"))
    later = page.get_by_role("row", name=re.compile("^Long-lived export"))
    expect(soon.locator("[data-status]")).to_have_text("Expires soon")
    expect(later.locator("[data-status]")).to_have_text("Active")
    expect(soon).to_have_class(re.compile(r"\bsoon\b"))
    page.get_by_label("Status").select_option(label="Expiring soon")
    expect(later).to_be_hidden()
    expect(soon).to_be_visible()
    page.get_by_label("Status").select_option(label="Revoked")
    expect(soon).to_be_hidden()
    # The filters live in the address: a reload keeps them.
    page.get_by_label("Status").select_option(label="Expiring soon")
    expect(soon).to_be_visible()
    page.reload()
    expect(page.get_by_label("Status")).to_have_value("EXPIRING")
    expect(soon).to_be_visible()
    expect(later).to_be_hidden()


def test_the_overview_pages_newest_first(page: Any, server: Server) -> None:
    for n in range(55):
        server.create_token(f"Paged token {n:02d}")
    log_in(page)
    page.get_by_label("Search").fill("Paged token")
    rows = page.locator("table.tokens tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Paged token 54")
    expect(page.get_by_text("55 tokens")).to_be_visible()
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text("Paged token 00")
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Paged token 54")


def test_an_empty_console_shows_the_first_run_hint(browser: Any, empty_server: Server) -> None:
    watch = Watch(origin=empty_server.base)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=empty_server.base
    )
    watch.attach(context)
    page = context.new_page()
    log_in(page)
    expect(page.get_by_text("No Shared Access Tokens yet.")).to_be_visible()
    expect(page.locator("table.tokens")).to_be_hidden()
    watch.check(page)
    context.close()


def test_the_overview_reads_well_at_1280_and_at_390_px(browser: Any, empty_server: Server) -> None:
    """Screenshots for the README, on a server holding a few realistic tokens."""
    server = empty_server
    payroll = server.create_token(
        "Payroll export (Acme Ltd)",
        grants=[{"area": "payroll", "read": True, "write": False, "delete": False}],
        ipRanges=[{"label": "Acme office", "from": "127.0.0.0/8"}],
    )
    server.create_token(
        "Recruitment sync",
        expiresInDays=90,
        grants=[
            {"area": "recruitment", "read": True, "write": True, "delete": False},
            {
                "area": "employees",
                "folder": "contracts",
                "read": True,
                "write": False,
                "delete": False,
            },
        ],
    )
    server.create_token("Applicant tracking trial", expiresInDays=7)
    old = server.create_token("Old BI connector", expiresInDays=30)
    server.graphql(
        "RevokeSharedAccessToken", {"id": old["sharedAccessToken"]["id"]}, bearer=server.session()
    )
    # A refresh from this machine: "last used ... from 127.0.0.1".
    server.graphql("RefreshAccessToken", {"refreshKey": payroll["refreshKey"]})
    for width, height, name in [(1280, 720, "overview"), (390, 844, "overview-390")]:
        watch = Watch(origin=server.base)
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=server.base, locale="en-GB"
        )
        watch.attach(context)
        page = context.new_page()
        log_in(page)
        row = page.get_by_role("row", name=re.compile(r"^Payroll export \(Acme Ltd\)"))
        expect(row).to_contain_text("from 127.0.0.1")
        # Nothing is wider than the screen: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, name)
        watch.check(page)
        context.close()


def test_the_watch_fails_on_a_csp_violation_and_a_foreign_request(page: Any, watch: Watch) -> None:
    """The guard of every test above catches what it must."""
    log_in(page)
    directive = page.evaluate(
        """() => new Promise((resolve) => {
          document.addEventListener(
            "securitypolicyviolation", (e) => resolve(e.violatedDirective), { once: true });
          const s = document.createElement("script");
          s.src = "https://cdn.example.invalid/lib.js";
          document.head.append(s);
        })"""
    )
    assert directive.startswith("script-src")
    with pytest.raises(AssertionError):
        watch.check(page)
    problems = " ".join(watch.problems)
    assert "CSP violation: script-src" in problems
    watch.problems.clear()
    page.evaluate("window.__satProblems.length = 0")


def test_the_token_page_updates_name_lifetime_and_grace(page: Any, server: Server) -> None:
    server.create_token("Details before")
    server.create_token("Details taken")
    log_in(page)
    page.get_by_label("Search").fill("Details before")
    page.get_by_role("link", name="Details before").click()
    expect(page.get_by_role("heading", name="Details before", level=1)).to_be_visible()
    name = page.get_by_label("Name", exact=True)
    name.fill("Details taken")
    page.get_by_role("button", name="Save details").click()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{name.get_attribute('aria-describedby')}")).to_contain_text(
        "already used"
    )
    name.fill("Details after")
    page.get_by_label("Lifetime of each access token").select_option(label="30 days")
    page.get_by_label("Refresh grace (seconds)").fill("120")
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_role("heading", name="Details after", level=1)).to_be_visible()
    expect(page.locator("[data-grace]")).to_have_text("120 seconds")
    expect(page.locator("table.audit [data-action]").first).to_have_text("TOKEN_UPDATED")
    expect(page.locator("table.audit [data-detail]").first).to_contain_text("Details after")
