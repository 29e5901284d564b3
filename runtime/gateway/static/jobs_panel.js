// The job table: one page of PAGE_ROWS rows at a time from job.list (status filter and
// search done by the daemon, with the total), pages by cursor; and the selected job's
// detail beside the table, the selection kept in the address bar (?job=ID).

import { fill, h } from "./dom.js";
import { jobRows } from "./views.js";

export const PAGE_ROWS = 50;

/** The job.list params of a status filter ("all", "live" or one status). */
export function listParams(status, search, cursor) {
  const params = { limit: PAGE_ROWS, cursor, with_total: true };
  if (search) params.search = search;
  if (status === "all") params.all = true;
  else if (status && status !== "live") params.statuses = [status];
  return params;
}

/** The job named by the address bar's ?job=, or null. */
export function jobInUrl() {
  return new URLSearchParams(window.location.search).get("job");
}

export class JobsPanel {
  /** conn: the Connection; onPick(jobId): a row was clicked. */
  constructor(conn, onPick) {
    this.conn = conn;
    this.onPick = onPick;
    this.cursors = [null]; // the cursor of each page up to the one shown
    this.page = null;
    this.asked = 0; // questions asked, to drop stale answers
    this.moving = false;
    this.status = document.getElementById("filter-status");
    this.search = document.getElementById("search");
    this.status.addEventListener("change", () => this.first());
    let typing = null;
    this.search.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.first(), 250);
    });
    document.getElementById("jobs-prev").addEventListener("click", () => this.move(-1));
    document.getElementById("jobs-next").addEventListener("click", () => this.move(1));
  }

  first() {
    this.cursors = [null];
    this.refresh().catch((err) => console.warn("jobs", err.message));
  }

  /** One page on or back (a click while a page is being read is ignored). */
  async move(step) {
    if (this.moving) return;
    if (step > 0 && this.page && this.page.next_cursor) this.cursors.push(this.page.next_cursor);
    else if (step < 0 && this.cursors.length > 1) this.cursors.pop();
    else return;
    this.moving = true;
    try {
      await this.refresh();
    } finally {
      this.moving = false;
    }
  }

  /** Read the page shown again (its rows change as jobs do) and the status counts; only
   * the answer to the latest question is drawn. */
  async refresh() {
    this.asked += 1;
    const asked = this.asked;
    const cursor = this.cursors[this.cursors.length - 1];
    const params = listParams(this.status.value, this.search.value.trim(), cursor);
    const [page, stats] = await Promise.all([
      this.conn.call("job.list", params),
      this.conn.call("system.stats", {}),
    ]);
    if (asked !== this.asked) return; // a newer question (page, filter, search) was asked
    this.page = page;
    fill("jobs", jobRows(page.jobs, this.onPick));
    this.mark();
    this.pager(page);
    fill(
      "counts",
      Object.entries(stats.jobs).map(([s, n]) => h("span", { class: `count s-${s}` }, `${s} ${n}`)),
    );
  }

  pager(page) {
    const first = (this.cursors.length - 1) * PAGE_ROWS;
    const shown = page.jobs.length;
    const range = shown ? `${first + 1}–${first + shown}` : "0";
    document.getElementById("jobs-range").textContent = `rows ${range} of ${page.total}`;
    document.getElementById("jobs-prev").disabled = this.cursors.length <= 1;
    document.getElementById("jobs-next").disabled = !page.next_cursor;
  }

  /** Highlight the selected job's row. */
  mark() {
    const selected = jobInUrl();
    for (const row of document.querySelectorAll("#jobs tr.job-row")) {
      row.classList.toggle("selected", row.dataset.jobId === selected);
    }
  }
}
