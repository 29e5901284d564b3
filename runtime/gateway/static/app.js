// The dashboard: state, the daemon connection, and which panel to redraw when.

import { HourCharts } from "./charts.js";
import { fill, h } from "./dom.js";
import { Connection, takeTicket } from "./rpc.js";
import {
  breakerRows,
  byNextFire,
  eventLine,
  jobDetail,
  jobRows,
  matches,
  tree,
} from "./views.js";

const MAX_EVENTS = 200;
const HISTORY_EVENTS = 50000; // the last hour's events read for the charts, at most
const state = {
  jobs: [],
  selected: null,
  scope: "read",
  lastSeq: null,
  subscription: null,
  events: [],
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

async function ready() {
  if (state.lastSeq === null) await loadHistory();
  await refreshAll();
  await subscribe(state.lastSeq);
}

/** The last hour of events, for the charts and the stream; sets lastSeq. */
async function loadHistory() {
  const since = new Date(Date.now() - 3600 * 1000).toISOString();
  let found = { events: [], more: true };
  let sinceSeq = 0;
  const events = [];
  while (found.more && events.length < HISTORY_EVENTS) {
    found = await conn.call("events.list", { since, since_seq: sinceSeq, limit: 5000 });
    events.push(...found.events);
    if (found.events.length) sinceSeq = found.events[found.events.length - 1].seq;
  }
  for (const event of events) state.charts.add(event);
  state.events = events.slice(-MAX_EVENTS);
  state.lastSeq = found.last_seq;
  drawEvents();
  drawCharts();
}

async function subscribe(since) {
  const answer = await conn.call("events.subscribe", { since_seq: since });
  state.subscription = answer.subscription;
}

function notified(method, params) {
  if (method === "events.lagged" && params.subscription === state.subscription) {
    subscribe(params.resume_from).catch(console.error);
    return;
  }
  if (method !== "events.notify" || params.subscription !== state.subscription) return;
  const event = params.event;
  if (state.lastSeq !== null && event.seq <= state.lastSeq) return;
  state.lastSeq = event.seq;
  state.events.push(event);
  if (state.events.length > MAX_EVENTS) state.events.shift();
  state.charts.add(event);
  document.getElementById("seq").textContent = `seq ${event.seq}`;
  later("events", drawEvents, 50);
  later("charts", drawCharts, 500);
  if (event.type.startsWith("job.") || event.type.startsWith("run.")) later("jobs", refreshJobs, 150);
  if (event.type.startsWith("breaker.")) later("breakers", refreshBreakers, 150);
  if (event.type === "daemon.started") later("all", refreshAll, 150);
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
  await Promise.all([refreshJobs(), refreshBreakers()]);
  document.getElementById("seq").textContent = `seq ${state.lastSeq}`;
}

async function refreshJobs() {
  state.jobs = byNextFire(await allJobs());
  drawJobs();
  const found = await conn.call("job.tree", {});
  fill("tree", tree(found.nodes, pick));
  if (state.selected) await drawDetail();
}

/** Every job: `job.list` pages, followed to the end. */
async function allJobs() {
  const jobs = [];
  let cursor = null;
  do {
    const page = await conn.call("job.list", { all: true, cursor });
    jobs.push(...page.jobs);
    cursor = page.next_cursor;
  } while (cursor);
  return jobs;
}

async function refreshBreakers() {
  fill("breakers", breakerRows(await conn.call("breaker.list", {})));
}

function drawJobs() {
  const status = document.getElementById("filter-status").value;
  const search = document.getElementById("search").value.trim();
  const shown = state.jobs.filter((job) => matches(job, status, search));
  fill("jobs", jobRows(shown, pick));
  const counts = {};
  for (const job of state.jobs) counts[job.status] = (counts[job.status] || 0) + 1;
  fill(
    "counts",
    Object.entries(counts).map(([s, n]) => h("span", { class: `count s-${s}` }, `${s} ${n}`)),
  );
}

function drawEvents() {
  fill("events", state.events.slice().reverse().map(eventLine));
}

function drawCharts() {
  fill("charts", state.charts.lagChart(), state.charts.outcomeChart());
}

function pick(jobId) {
  state.selected = jobId;
  drawDetail().catch((err) => toast(err.message, true));
}

async function drawDetail() {
  const detail = await conn.call("job.get", { ref: state.selected });
  const canWrite = state.scope === "write" || state.scope === "admin";
  fill("detail", jobDetail(detail, canWrite, act));
  document.getElementById("detail-panel").hidden = false;
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

document.getElementById("filter-status").addEventListener("change", drawJobs);
document.getElementById("search").addEventListener("input", drawJobs);
document.getElementById("close-detail").addEventListener("click", () => {
  state.selected = null;
  document.getElementById("detail-panel").hidden = true;
});
setInterval(() => later("charts", drawCharts, 0), 15000);
setInterval(() => later("clock", drawJobs, 0), 5000); // "in 5m" labels age
conn.start();
