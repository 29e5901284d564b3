// The dashboard: the daemon connection, and which panel to redraw when.

import { HourCharts } from "./charts.js";
import { fill } from "./dom.js";
import { EventsPanel } from "./events_panel.js";
import { JobsPanel, jobInUrl } from "./jobs_panel.js";
import { Connection, takeTicket } from "./rpc.js";
import { breakerRows, jobDetail, tree } from "./views.js";

const state = {
  scope: "read",
  charts: new HourCharts(),
  timers: {},
};

const STATE_TEXT = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  login: "not logged in — run: gnomon dashboard",
};

const conn = new Connection({
  ticket: takeTicket(),
  onState: showState,
  onReady: ready,
  onNotify: notified,
});
const events = new EventsPanel(conn, (seq) => {
  document.getElementById("seq").textContent = `seq ${seq}`;
});
const jobs = new JobsPanel(conn, pick);

function showState(name, hello) {
  const badge = document.getElementById("conn");
  badge.dataset.state = name;
  badge.textContent = STATE_TEXT[name] || name;
  if (hello) {
    state.scope = hello.scope;
    document.getElementById("whoami").textContent =
      `gnomon ${hello.server_version} · ${hello.scope} session`;
  }
}

/** After each login: the table and the events first, then what may cost the daemon more
 * (the first stats.fires reads the last hour from the store; job.tree reads every job,
 * so only while its panel is open). */
async function ready() {
  await Promise.all([events.ready(), refreshJobs(), refreshBreakers()]);
  await refreshCharts();
  if (treeOpen()) await refreshTree();
}

function treeOpen() {
  return document.getElementById("tree-panel").open;
}

const FIRE_OR_RUN = /^job\.(fired|completed|failed|timed_out|skipped|retry_queued)$|^run\./;
const TREE_CHANGES = ["job.created", "job.triggered", "job.cancelled", "daemon.started"];

function notified(method, params) {
  events.notified(method, params);
  if (method !== "events.notify") return;
  const type = params.event.type;
  if (type.startsWith("job.") || type.startsWith("run.")) later("jobs", refreshJobs, 1000);
  if (TREE_CHANGES.includes(type) && treeOpen()) later("tree", refreshTree, 3000);
  if (FIRE_OR_RUN.test(type)) later("charts", refreshCharts, 2000);
  if (type.startsWith("breaker.")) later("breakers", refreshBreakers, 150);
  if (type === "daemon.started") later("all", refreshAll, 150);
}

/** Run `fn` once, `ms` from now, however often this is asked meanwhile. */
function later(key, fn, ms) {
  if (state.timers[key]) return;
  state.timers[key] = setTimeout(() => {
    state.timers[key] = null;
    Promise.resolve(fn()).catch((err) => console.warn(key, err.message));
  }, ms);
}

async function refreshAll() {
  await Promise.all([refreshJobs(), refreshBreakers(), refreshCharts()]);
  if (treeOpen()) await refreshTree();
}

async function refreshJobs() {
  await jobs.refresh();
  if (jobInUrl()) await drawDetail();
}

async function refreshTree() {
  const found = await conn.call("job.tree", {});
  fill("tree", tree(found.nodes, pick));
}

async function refreshCharts() {
  state.charts.set(await conn.call("stats.fires", {}));
  fill("charts", state.charts.lagChart(), state.charts.outcomeChart());
}

async function refreshBreakers() {
  fill("breakers", breakerRows(await conn.call("breaker.list", {})));
}

/** Select `jobId` (a new history entry, so the back button deselects it). */
function pick(jobId) {
  if (jobInUrl() !== jobId) history.pushState({ job: jobId }, "", `?job=${encodeURIComponent(jobId)}`);
  showSelection(true);
}

/** Show the detail of the job in the address bar (scrolled into view if asked: a narrow
 * window shows it above the table), or hide the panel. */
function showSelection(scroll = false) {
  jobs.mark();
  if (!jobInUrl()) {
    document.getElementById("detail-panel").hidden = true;
    document.body.classList.remove("with-detail");
    return;
  }
  drawDetail()
    .then(() => scroll && document.getElementById("detail-panel").scrollIntoView({ block: "nearest" }))
    .catch((err) => toast(err.message, true));
}

async function drawDetail() {
  const ref = jobInUrl();
  const detail = await conn.call("job.get", { ref });
  if (jobInUrl() !== ref) return; // another job was picked meanwhile
  const canWrite = state.scope === "write" || state.scope === "admin";
  fill("detail", jobDetail(detail, canWrite, act));
  document.getElementById("detail-panel").hidden = false;
  document.body.classList.add("with-detail");
}

async function act(op, job) {
  if (op === "cancel" && !window.confirm(`Cancel ${job.name}?`)) return;
  try {
    if (op === "run") await conn.call("job.run", { ref: job.id });
    else await conn.call(`job.${op}`, { refs: [job.id], reason: "from the dashboard" });
    toast(`${op}: ${job.name}`);
  } catch (err) {
    toast(`${op} ${job.name}: ${err.message}`, true);
  }
  await refreshJobs();
}

function toast(text, bad = false) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.className = bad ? "bad" : "good";
  clearTimeout(state.timers.toast);
  state.timers.toast = setTimeout(() => (el.textContent = ""), 5000);
}

document.getElementById("close-detail").addEventListener("click", () => {
  history.pushState({}, "", window.location.pathname);
  showSelection();
});
window.addEventListener("popstate", () => showSelection());
document.getElementById("tree-panel").addEventListener("toggle", () => {
  if (treeOpen()) later("tree", refreshTree, 0);
});
setInterval(() => later("charts", refreshCharts, 0), 15000);
setInterval(() => later("jobs", refreshJobs, 0), 15000); // "in 5m" labels age
conn.start();
