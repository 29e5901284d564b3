"""The dashboard at scale in headless Chromium: a real daemon holding 10,000 jobs and
20,000 events (plus a job firing every second meanwhile). The events panel shows a
gap-free run of seqs up to the newest, pages back without a gap; the job table shows its
first page of 50 and the total, searches and pages on the daemon; the lineage panel lists
linked jobs only (none here) when opened; a click opens the
detail beside the table, visible in the screenshot, kept in the URL (back, forward and
reload). Time to first rows is measured by bench/dashboard.py, not here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import trio
from support.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, login_url
from support.bulk_load import LIMITS, fill, job_name
from support.daemon_proc import RealDaemon, cli_env, gnomon, until

pytestmark = pytest.mark.slow
JOBS = 10_000
VIEWPORT = {"width": 1400, "height": 900}


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_dashboard_with_10k_jobs_and_20k_events(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    home = tmp_path / "home"
    daemon = RealDaemon.start(home, env=cli_env(home, **LIMITS))
    try:
        trio.run(fill, daemon, JOBS)
        made = gnomon(home, "schedule", "ticker", "--do", "noop", "--every", "1s")
        assert made.code == 0, made.err
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(WAIT_MS)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                page.goto(login_url(home))
                page.wait_for_selector("#conn[data-state=live]", timeout=WAIT_MS)
                _events_panel(page, home)
                _job_table(page)
                _detail(page, tmp_path)
                assert not errors, errors
            finally:
                browser.close()
    finally:
        daemon.stop()


def _seqs(page: Any) -> list[int]:
    found = page.eval_on_selector_all("#events li", "els => els.map(e => +e.dataset.seq)")
    return [int(s) for s in found]


def _gap_free(seqs: list[int]) -> bool:
    return seqs == list(range(seqs[0], seqs[0] - len(seqs), -1))  # newest first


def _events_panel(page: Any, home: Path) -> None:
    """The newest page, then the live stream joined to it; "fire N succeeded" for the
    ticker; an older page joins at the bottom; never more than 1000 lines."""
    page.wait_for_selector("#events li .ev-type:text-matches('^fire [0-9]+ succeeded$')")
    last = json.loads(gnomon(home, "events", "--json", "--tail", "1").out)["seq"]
    assert last > 2 * JOBS
    until(lambda: _seqs(page) and _seqs(page)[0] >= last, "the panel reached the newest seq")
    seqs = _seqs(page)
    assert _gap_free(seqs), seqs
    assert 200 <= len(seqs) <= 1000
    for _ in range(5):  # 1000 lines: the newest end is trimmed, the panel stops following
        before = _seqs(page)[-1]
        page.click("#events-older")
        until(lambda b=before: _seqs(page)[-1] < b, "an older page")
    seqs = _seqs(page)
    assert _gap_free(seqs), seqs
    assert len(seqs) == 1000
    assert page.is_visible("#events-newest")
    page.click("#events-newest")
    until(lambda: _seqs(page)[0] > seqs[0], "the newest page again")
    assert _gap_free(_seqs(page))


def _job_table(page: Any) -> None:
    """The first page of 50 of the 10,001 jobs; the next page; a search on the daemon."""
    until(lambda: page.locator("#jobs tr.job-row").count() == 50, "the first page")
    until(lambda: page.inner_text("#jobs-range") == f"rows 1–50 of {JOBS + 1}", "the total")
    assert page.get_attribute("#jobs tr.job-row", "data-name") == job_name(0)
    page.click("#jobs-next")
    until(lambda: page.inner_text("#jobs-range").startswith("rows 51–100"), "the next page")
    assert page.get_attribute("#jobs tr.job-row", "data-name") == job_name(50)
    page.fill("#search", "SCALE-0004")  # scale-00040 … scale-00049
    until(lambda: page.inner_text("#jobs-range") == "rows 1–10 of 10", "the search's page")
    names = page.eval_on_selector_all("#jobs tr.job-row", "els => els.map(e => e.dataset.name)")
    assert names == [job_name(i) for i in range(40, 50)]
    page.click("#tree-panel summary")  # read on opening: no job links here, none listed
    page.wait_for_selector(f"#tree :text('{JOBS + 1} job(s) without dependencies or triggers')")


def _detail(page: Any, out: Path) -> None:
    """A click opens the job beside the table, inside the viewport; ?job=ID; back closes
    it, forward and a reload bring it back."""
    row = page.locator("#jobs tr.job-row").nth(3)
    job_id = row.get_attribute("data-job-id")
    row.click()
    page.wait_for_selector(f".detail[data-job-id='{job_id}']")
    assert re.search(rf"\?job={job_id}$", page.url), page.url
    box = page.locator("#detail-panel").bounding_box()
    table = page.locator("#jobs-panel").bounding_box()
    assert box["x"] >= table["x"] + table["width"] - 1, (box, table)  # beside, not below
    assert 0 <= box["y"] < VIEWPORT["height"] - 100, box  # visible without scrolling
    assert page.evaluate("window.scrollY") == 0
    shot = out / "dashboard-scale.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.go_back()
    page.wait_for_selector("#detail-panel", state="hidden")
    page.go_forward()
    page.wait_for_selector(f".detail[data-job-id='{job_id}']")
    page.reload()
    page.wait_for_selector(f".detail[data-job-id='{job_id}']", timeout=WAIT_MS)
    assert page.is_visible("#detail-panel")
