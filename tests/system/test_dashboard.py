"""The dashboard: login by one-time URL, and the live page in headless Chromium against a
real daemon (jobs from the CLI, a status changing live, a daemon restart survived, no
network beyond the daemon, foreign origins refused)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio_websocket
from support.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, login_url, ok
from support.daemon_proc import RealDaemon, gnomon, until

pytestmark = pytest.mark.slow
FOREIGN_PAGE = """<!doctype html><script>
const ws = new WebSocket("WS_URL");
ws.onopen = () => { document.title = "opened"; };
ws.onerror = () => { document.title = "refused"; };
</script>"""


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[RealDaemon]:
    running = RealDaemon.start(tmp_path / "home")
    yield running
    running.stop()


async def rpc(ws: trio_websocket.WebSocketConnection, method: str, params: Any) -> Any:
    """One JSON-RPC call; the whole response object."""
    await ws.send_message(
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    )
    return json.loads(await ws.get_message())


# -- login, without a browser ------------------------------------------------------------


def test_login_url_carries_a_ticket_in_the_fragment_never_the_admin_token(
    daemon: RealDaemon,
) -> None:
    """The URL points at the daemon's page with #login=…; neither it nor the page holds the
    admin token."""
    url = login_url(daemon.home)
    assert url.startswith(daemon.http + "/#login=glt_")
    assert daemon.token not in url
    page = httpx.get(daemon.http + "/")
    assert page.status_code == 200
    assert daemon.token not in page.text
    assert "connect-src 'self'" in page.headers["content-security-policy"]


async def test_a_ticket_buys_one_session_once(daemon: RealDaemon) -> None:
    """The ticket logs in once (write scope); a second use is refused; the session token
    it buys logs in again on a fresh connection."""
    ticket = (await trio.to_thread.run_sync(login_url, daemon.home)).split("#login=")[1]
    async with trio_websocket.open_websocket_url(daemon.url) as ws:
        hello = await rpc(ws, "system.hello", {"token": ticket})
        assert hello["result"]["scope"] == "write"
        grant = (await rpc(ws, "system.session", {}))["result"]
    async with trio_websocket.open_websocket_url(daemon.url) as ws:
        again = await rpc(ws, "system.hello", {"token": ticket})
        assert again["error"]["code"] == -32003
    async with trio_websocket.open_websocket_url(daemon.url) as ws:
        resumed = await rpc(ws, "system.hello", {"token": grant["session"]})
        assert resumed["result"]["scope"] == "write"
        listed = await rpc(ws, "job.list", {})
        assert listed["result"] == {"jobs": [], "next_cursor": None, "total": None}


async def test_a_read_only_login_cannot_act_and_cannot_issue_logins(daemon: RealDaemon) -> None:
    """--read-only gives a read session: job.run and system.login_url are refused."""
    url = await trio.to_thread.run_sync(login_url, daemon.home, "--read-only")
    async with trio_websocket.open_websocket_url(daemon.url) as ws:
        hello = await rpc(ws, "system.hello", {"token": url.split("#login=")[1]})
        assert hello["result"]["scope"] == "read"
        refused = await rpc(ws, "job.run", {"ref": "nothing"})
        assert refused["error"]["code"] == -32003
        issued = await rpc(ws, "system.login_url", {})
        assert issued["error"]["code"] == -32003


def test_a_forged_session_token_is_refused(daemon: RealDaemon) -> None:
    """A session token signed with another key does not log in."""

    async def attempt() -> Any:
        async with trio_websocket.open_websocket_url(daemon.url) as ws:
            forged = "gds1.eyJleHAiOjk5OTk5OTk5OTksInNjb3BlIjoiYWRtaW4ifQ.AAAA"
            return await rpc(ws, "system.hello", {"token": forged})

    assert trio.run(attempt)["error"]["code"] == -32003


def test_bad_ttl_is_a_usage_error(daemon: RealDaemon) -> None:
    """--ttl takes a duration; junk exits 2 naming the option."""
    result = gnomon(daemon.home, "dashboard", "--no-open", "--ttl", "soon")
    assert result.code == 2
    assert "--ttl" in result.err


# -- the page in Chromium --------------------------------------------------------------


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_live_dashboard_in_chromium(tmp_path: Path) -> None:
    """Login strips the ticket; CLI jobs appear; a paused one shows `— paused` as its next
    fire; a fire changes a row live; a daemon
    restart is survived with no event missed; nothing but the daemon is contacted; a
    foreign origin cannot open /ws; a screenshot is saved."""
    from playwright.sync_api import sync_playwright

    home = tmp_path / "home"
    daemon = RealDaemon.start(home)
    try:
        ok(home, "schedule", "nightly", "--do", "noop", "--cron", "0 4 * * *", "--tag", "env=dev")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(WAIT_MS)
                requests: list[str] = []
                page.on("request", lambda r: requests.append(r.url))
                page.on("websocket", lambda w: requests.append(w.url))
                daemon = _live_page(page, home, daemon, tmp_path)
                origins = {u.split("/")[2] for u in requests}
                assert origins == {f"127.0.0.1:{daemon.port}"}, requests
                _foreign_origin_refused(browser, daemon)
            finally:
                browser.close()
    finally:
        daemon.stop()


def _live_page(page: Any, home: Path, daemon: RealDaemon, out: Path) -> RealDaemon:
    page.goto(login_url(home))
    page.wait_for_selector("#conn[data-state=live]", timeout=WAIT_MS)
    assert "login" not in page.url
    assert page.evaluate("sessionStorage.getItem('gnomon.session')").startswith("gds1.")
    assert daemon.token not in page.content()
    page.evaluate("window.notReloaded = true")
    page.wait_for_selector("tr[data-name=nightly][data-status=pending]", timeout=WAIT_MS)
    ok(home, "jobs", "pause", "nightly")  # a held job shows what holds it, not a time
    page.wait_for_selector("tr[data-name=nightly][data-status=paused]", timeout=WAIT_MS)
    assert "— paused" in page.inner_text("tr[data-name=nightly]")
    ok(home, "jobs", "resume", "nightly")

    # due only once the page showed it pending (a slot 2 s ahead could pass unseen under load)
    ok(home, "schedule", "soon", "--do", "shell: sleep 0.5", "--in", "1h")
    page.wait_for_selector("tr[data-name=soon][data-status=pending]", timeout=WAIT_MS)
    ok(home, "schedule", "soon", "--do", "shell: sleep 0.5", "--in", "1s", "--replace")
    page.wait_for_selector("tr[data-name=soon][data-status=completed]", timeout=WAIT_MS)
    assert page.evaluate("window.notReloaded") is True

    port = daemon.port
    assert daemon.stop() == 0
    page.wait_for_selector("#conn[data-state=reconnecting]", timeout=WAIT_MS)
    daemon = RealDaemon.start(home, "--port", str(port))
    ok(home, "schedule", "after-restart", "--do", "noop", "--cron", "0 5 * * *")
    page.wait_for_selector("#conn[data-state=live]", timeout=WAIT_MS)
    page.wait_for_selector("tr[data-name=after-restart]", timeout=WAIT_MS)
    assert page.evaluate("window.notReloaded") is True
    last = json.loads(ok(home, "events", "--json").splitlines()[-1])["seq"]
    until(lambda: _seqs(page) and max(_seqs(page)) >= last, "the page caught up")
    seqs = _seqs(page)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap in the event stream"
    assert "daemon.started" in page.inner_text("#events")

    page.click("tr[data-name=soon]")
    page.wait_for_selector(".detail .run", timeout=WAIT_MS)
    assert "token admin via gnomon-cli" in page.inner_text(".detail")  # provenance shown
    for panel in ("#jobs", ".detail", "#events"):  # schedules, why, transitions: short times
        assert not RAW_ISO.search(page.inner_text(panel)), page.inner_text(panel)
    page.screenshot(path=str(out / "dashboard.png"), full_page=True)
    assert (out / "dashboard.png").stat().st_size > 10_000
    return daemon


RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _seqs(page: Any) -> list[int]:
    found = page.eval_on_selector_all("#events li", "els => els.map(e => +e.dataset.seq)")
    return sorted(int(s) for s in found)


def _foreign_origin_refused(browser: Any, daemon: RealDaemon) -> None:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    html = FOREIGN_PAGE.replace("WS_URL", daemon.url)
    page.route("http://elsewhere.test/**", lambda r: r.fulfill(content_type="text/html", body=html))
    page.goto("http://elsewhere.test/")
    page.wait_for_function("document.title !== ''", timeout=WAIT_MS)
    assert page.title() == "refused"
    page.close()
