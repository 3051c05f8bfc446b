"""The console's files over HTTP: what is served, from where, with which headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from server.console_routes import CONSOLE_DIR
from tests.server.test_http import running
from tests.support import operation

ASSETS = sorted(p.name for p in CONSOLE_DIR.iterdir() if p.is_file())


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_console_is_served_at_the_root(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Shared Access Tokens</title>" in response.text


@pytest.mark.parametrize("path", ["/", *(f"/console/{name}" for name in ASSETS)])
def test_every_console_answer_carries_a_strict_policy(sync_database_url: str, path: str) -> None:
    with running(sync_database_url) as client:
        response = client.get(path)

    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_page_holds_no_inline_script_and_no_asset_from_elsewhere() -> None:
    parser = _Tags()
    parser.feed((CONSOLE_DIR / "index.html").read_text(encoding="utf-8"))
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts, "the console loads its module"
    assert all(attrs.get("src", "").startswith("/console/") for attrs in scripts)
    for tag, attrs in parser.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"^(https?:)?//", value), (tag, value)


def test_modules_import_only_from_the_console_itself() -> None:
    for module in CONSOLE_DIR.glob("*.js"):
        text = module.read_text(encoding="utf-8")
        for target in re.findall(r"""^import .* from "([^"]+)";$""", text, flags=re.M):
            assert target.startswith("./"), (module.name, target)
            assert (CONSOLE_DIR / target).is_file(), (module.name, target)
        # Server strings go in as text only.
        assert "innerHTML" not in text, module.name
        assert "insertAdjacentHTML" not in text, module.name
        assert "localStorage" not in text, module.name
        assert "sessionStorage" not in text, module.name


def _imports(name: str) -> set[str]:
    """Every module ``name`` imports, directly or not (the console is a flat folder)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        text = (CONSOLE_DIR / todo.pop()).read_text(encoding="utf-8")
        for target in re.findall(r"""^import\b[^;]*? from "\./([^"]+)";$""", text, flags=re.M):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_page_fetches_its_whole_module_graph_at_once_opening_requests_first() -> None:
    """No module is found only once its importer has arrived (a round trip per level).

    start.js (who is logged in, the overview's first page) and what it needs come first,
    so that those requests do not wait for the screens the first view does not show.
    """
    parser = _Tags()
    parser.feed((CONSOLE_DIR / "index.html").read_text(encoding="utf-8"))
    scripts = [a["src"] for tag, a in parser.tags if tag == "script"]
    assert scripts == ["/console/start.js", "/console/app.js"]
    preloads = [
        (a["rel"], (a.get("href") or "").removeprefix("/console/"))
        for tag, a in parser.tags
        if tag == "link" and a.get("rel") in ("modulepreload", "preload")
    ]
    modules = [href for rel, href in preloads if rel == "modulepreload"]
    assert set(modules) == _imports("start.js") | _imports("app.js")
    assert len(modules) == len(set(modules))
    opening = _imports("start.js")
    documents = {"operations/Me.graphql", "operations/SharedAccessTokens.graphql"}
    first = [href for _, href in preloads[: len(opening) + len(documents)]]
    assert set(first) == opening | documents


def test_every_operation_the_console_calls_is_a_document_it_can_fetch(
    sync_database_url: str,
) -> None:
    called: set[str] = set()
    for module in CONSOLE_DIR.glob("*.js"):
        called |= set(re.findall(r"""\bcall\(\s*"([A-Za-z]+)\"""", module.read_text("utf-8")))
    assert {"ConsoleLogin", "SharedAccessTokens", "CreateSharedAccessToken"} <= called
    with running(sync_database_url) as client:
        for name in sorted(called):
            response = client.get(f"/console/operations/{name}.graphql")
            assert response.status_code == 200, name
            assert response.text == operation(name)
            assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/console/operations/..%2Fschema.graphql",
        "/console/operations/Nope.graphql",
        "/console/..%2F..%2Fpyproject.toml",
        "/console/%2e%2e/app.py",
        "/console/missing.js",
    ],
)
def test_nothing_outside_the_console_and_its_documents_is_served(
    sync_database_url: str, path: str
) -> None:
    with running(sync_database_url) as client:
        response = client.get(path)

    assert response.status_code == 404
    assert len(response.content) < 100


def test_an_unchanged_asset_revalidates_without_a_body(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        first = client.get("/console/app.js")
        again = client.get("/console/app.js", headers={"if-none-match": first.headers["etag"]})

    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert again.content == b""


def test_graphql_answers_do_not_get_the_console_policy(sync_database_url: str) -> None:
    """The console's headers stay on its routes; GraphiQL's are another engineer's."""
    with running(sync_database_url) as client:
        response = client.post("/graphql", json={"query": "{ me { username } }"})

    assert response.json() == {"data": {"me": None}}
    assert (
        response.headers.get("content-security-policy")
        != (client.get("/").headers["content-security-policy"])
    )
