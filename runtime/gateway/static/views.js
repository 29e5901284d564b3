// Rendering of each panel from plain data (no state here).

import { duration, h, humanize, localTime, pill, relative, shortTime } from "./dom.js";
import { headline } from "./eventlog.js";

const TERMINAL = ["completed", "failed", "cancelled", "timed_out", "skipped"];

function tags(job) {
  return Object.entries(job.tags || {}).map(([k, v]) =>
    h("span", { class: "tag" }, v ? `${k}=${v}` : k),
  );
}

/** Provenance in one line: token, client and version, parent job/run. */
function createdBy(by) {
  let text = `token ${by.token_id || "?"}`;
  if (by.client) text += ` via ${by.client}${by.client_version ? " " + by.client_version : ""}`;
  if (by.parent_job) text += `, from job ${by.parent_job}${by.parent_run ? " run " + by.parent_run : ""}`;
  return text;
}

/** The job table body rows. */
export function jobRows(jobs, onPick) {
  if (!jobs.length) return [h("tr", {}, h("td", { colspan: 7, class: "empty" }, "no jobs"))];
  return jobs.map((job) =>
    h(
      "tr",
      {
        "data-job-id": job.id,
        "data-name": job.name,
        "data-status": job.status,
        class: "job-row",
        onclick: () => onPick(job.id),
      },
      h("td", {}, pill(job.status)),
      h("td", { class: "name" }, job.name, h("div", { class: "muted mono" }, job.id.slice(0, 12))),
      h("td", { class: "mono", title: job.schedule }, humanize(job.schedule)),
      job.hold
        ? h("td", { class: "muted" }, `— ${job.hold}`)
        : h(
            "td",
            { title: localTime(job.next_fire_at) },
            shortTime(job.next_fire_at),
            h("div", { class: "muted" }, relative(job.next_fire_at)),
          ),
      h("td", {}, pill(job.last_outcome)),
      h("td", {}, tags(job)),
      h("td", { class: "reason" }, humanize(job.reason || job.message)),
    ),
  );
}

function field(label, value) {
  return [h("dt", {}, label), h("dd", {}, value === "" || value == null ? "—" : value)];
}

function runItem(run) {
  return h(
    "details",
    { class: "run", "data-run-id": run.run_id },
    h(
      "summary",
      {},
      pill(run.outcome || "running"),
      ` cycle ${run.cycle} · attempt ${run.attempt} · fired for ${shortTime(run.fire_time)}`,
      run.exit_code != null ? ` · exit ${run.exit_code}` : "",
      run.finished_at
        ? ` · took ${duration((new Date(run.finished_at) - new Date(run.started_at)) / 1000)}`
        : "",
    ),
    run.error ? h("div", { class: "error" }, humanize(run.error)) : null,
    h("pre", { class: "output" }, run.output || "(no output)"),
  );
}

/** The job page: fields, why it is (not) running, next fires, runs, transitions, actions. */
export function jobDetail(detail, canWrite, act) {
  const job = detail.job;
  const button = (label, op, show) =>
    show && canWrite
      ? h("button", { class: `act act-${op}`, "data-op": op, onclick: () => act(op, job) }, label)
      : null;
  const live = !TERMINAL.includes(job.status);
  return h(
    "div",
    { class: "detail", "data-job-id": job.id },
    h("h2", {}, job.name, " ", pill(job.status)),
    h("p", { class: "why" }, h("strong", {}, "Why: "), humanize(job.reason || job.message) || "—"),
    h(
      "div",
      { class: "actions" },
      button("Run now", "run", live),
      button("Pause", "pause", live && job.status !== "paused"),
      button("Resume", "resume", job.status === "paused"),
      button("Cancel", "cancel", live),
      canWrite ? null : h("span", { class: "muted" }, "read-only session"),
    ),
    h(
      "dl",
      {},
      field("id", job.id),
      field("schedule", humanize(job.schedule)),
      field("action", job.action),
      field("wait", job.wait),
      field("depends on", (job.depends_on || []).join(", ")),
      field("triggers", (job.triggers || []).join(", ")),
      field("owner", job.owner),
      field("created by", createdBy(job.created_by || {})),
      field("tags", tags(job)),
      field("next fire", job.hold ? `— ${job.hold}` : localTime(job.next_fire_at)),
      field("attempts / cycle", `${job.attempts} / ${job.cycle}`),
      field("message", humanize(job.message)),
      field("created", localTime(job.created_at)),
    ),
    h("h3", {}, job.hold ? `Next fires (on schedule; now ${job.hold})` : "Next fires"),
    detail.next_fires.length
      ? h("ul", {}, detail.next_fires.map((t) => h("li", {}, `${localTime(t)} (${relative(t)})`)))
      : h("p", { class: "muted" }, "none"),
    h("h3", {}, `Runs (${detail.runs.length})`),
    detail.runs.length ? detail.runs.map(runItem) : h("p", { class: "muted" }, "no runs yet"),
    h("h3", {}, "Transitions"),
    h(
      "ol",
      { class: "transitions" },
      detail.transitions.map((t) =>
        h(
          "li",
          {},
          `${shortTime(t.at)} ${t.from_status} → ${t.to_status}`,
          t.reason ? ` — ${humanize(t.reason)}` : "",
        ),
      ),
    ),
  );
}

/** The DAG and trigger lineage as an indented tree: the jobs with a parent or children
 * (standalone jobs are the job table's; they are counted, not listed). */
export function tree(nodes, onPick) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const linked = (n) => (n.parent && byId.has(n.parent)) || n.children.some((c) => byId.has(c));
  const item = (node, depth) =>
    h(
      "li",
      { "data-job-id": node.id },
      h(
        "a",
        { href: "#", onclick: (e) => (e.preventDefault(), onPick(node.id)) },
        node.kind === "trigger" ? "⚡ " : node.kind === "depends_on" ? "↳ " : "",
        node.name,
      ),
      " ",
      pill(node.status),
      node.children.length && depth < 32
        ? h(
            "ul",
            {},
            node.children.filter((c) => byId.has(c)).map((c) => item(byId.get(c), depth + 1)),
          )
        : null,
    );
  const roots = nodes.filter((n) => (!n.parent || !byId.has(n.parent)) && linked(n));
  const alone = nodes.filter((n) => !linked(n)).length;
  const note = alone ? h("p", { class: "muted" }, `${alone} job(s) without dependencies or triggers`) : null;
  if (!roots.length) return note || h("p", { class: "muted" }, "no jobs");
  return [h("ul", { class: "tree" }, roots.map((n) => item(n, 0))), note];
}

/** One line of the event stream ("fire 55 succeeded" for the end of one fire of a job
 * that goes on: eventlog.js headline). */
export function eventLine(event) {
  const head = headline(event);
  return h(
    "li",
    { "data-seq": event.seq, class: `ev ev-${event.type.replace(".", "-")}` },
    h("span", { class: "mono muted" }, `#${event.seq} ${localTime(event.timestamp)} `),
    h("span", { class: "ev-type", title: event.type }, head),
    event.name ? ` ${event.name}` : "",
    event.outcome ? [" ", pill(event.outcome)] : "",
    event.message && event.message !== head
      ? h("span", { class: "muted" }, ` — ${humanize(event.message)}`)
      : "",
  );
}

/** Breaker rows. */
export function breakerRows(breakers) {
  if (!breakers.length) return [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "all closed"))];
  return breakers.map((b) =>
    h(
      "tr",
      { "data-key": b.key, "data-status": b.status },
      h("td", { class: "mono" }, b.key),
      h("td", {}, pill(b.status)),
      h("td", {}, String(b.recent_failures)),
      h("td", {}, b.reopens_at ? `${shortTime(b.reopens_at)} (${relative(b.reopens_at)})` : "—"),
    ),
  );
}
