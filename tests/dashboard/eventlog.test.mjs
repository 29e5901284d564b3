// Property tests of the events panel's pure core (runtime/gateway/static/eventlog.js)
// and the job table's params (jobs_panel.js listParams),
// run by tests/dashboard/test_eventlog_js.py under node's test runner. Random cases from
// a seeded generator (no npm packages): a failure prints its seed and case.

import assert from "node:assert/strict";
import { test } from "node:test";

import { contiguous, gapBefore, headline, merge } from "../../runtime/gateway/static/eventlog.js";

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
const ev = (seq) => ({ seq, type: "job.fired" });
const range = (lo, hi) => Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => ev(lo + i));
const seqs = (events) => events.map((e) => e.seq);

function shuffled(r, items) {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = int(r, 0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The app's loop: the newest page, then the stream's events in random batches (out of
 * order, repeated, some lost and fetched again as gap fills), merged as they come. */
function follow(r) {
  const max = int(r, 1, 40);
  const last = int(r, 1, 120);
  const pageFrom = Math.max(1, last - int(r, 0, 30));
  const total = last + int(r, 0, 150);
  let state = merge([], range(pageFrom, last), { max });
  const stream = range(last + 1, total).flatMap((e) => (r() < 0.2 ? [e, e] : [e]));
  const arrived = shuffled(r, stream).filter(() => r() < 0.9); // some never arrive
  let rest = state.rest;
  for (let i = 0; i < arrived.length; i += int(r, 1, 8)) {
    state = merge(state.run, rest.concat(arrived.slice(i, i + 8)), { max });
    rest = state.rest;
    assert.ok(contiguous(state.run) && state.run.length <= max, `run ${seqs(state.run)}`);
    const gap = gapBefore(state.run, rest);
    if (gap && r() < 0.5) {
      state = merge(state.run, range(gap.after + 1, gap.upto).concat(rest), { max });
      rest = state.rest;
    }
  }
  // The gap fills that were left, then anything lost after the last event that arrived.
  for (let gap = gapBefore(state.run, rest); gap; gap = gapBefore(state.run, rest)) {
    state = merge(state.run, range(gap.after + 1, gap.upto).concat(rest), { max });
    rest = state.rest;
  }
  const hi = state.run.length ? state.run[state.run.length - 1].seq : 0;
  state = merge(state.run, range(hi + 1, total), { max });
  return { state, max, total, pageFrom };
}

test("following the stream: gap-free, bounded, ends with the newest events", () => {
  // The run starts with the newest page and grows with the stream up to `max` events.
  for (let seed = 1; seed <= 400; seed += 1) {
    const { state, max, total, pageFrom } = follow(rng(seed));
    const want = seqs(range(Math.max(pageFrom, total - max + 1), total));
    assert.deepEqual(seqs(state.run), want, `seed ${seed}`);
    assert.deepEqual(state.rest, [], `seed ${seed}`);
  }
});

test("paging back: each older page joins at the oldest end, the newest are trimmed", () => {
  for (let seed = 1; seed <= 300; seed += 1) {
    const r = rng(seed);
    const max = int(r, 1, 50);
    const last = int(r, 1, 400);
    const page = int(r, 1, 30);
    let state = merge([], range(Math.max(1, last - page + 1), last), { max });
    let trimmed = false;
    while (state.run[0].seq > 1) {
      const lo = state.run[0].seq;
      const older = range(Math.max(1, lo - page), lo - 1);
      state = merge(state.run, older, { max, keep: "oldest" });
      trimmed ||= state.trimmedNewest;
      assert.equal(state.run[0].seq, older[0].seq, `seed ${seed}`);
      assert.ok(contiguous(state.run) && state.run.length <= max, `seed ${seed}`);
    }
    assert.equal(trimmed, last > max, `seed ${seed}`);
  }
});

test("events merged in any order and any number of times give the same run", () => {
  for (let seed = 1; seed <= 300; seed += 1) {
    const r = rng(seed);
    const max = int(r, 1, 30);
    const lo = int(r, 1, 50);
    const events = range(lo, lo + int(r, 0, 60));
    const once = merge([], events, { max });
    const twice = merge([], shuffled(r, events.concat(events)), { max });
    assert.deepEqual(seqs(twice.run), seqs(once.run), `seed ${seed}`);
  }
});

test("an event beyond a gap waits in rest; older strays are dropped", () => {
  const start = merge([], range(10, 12), { max: 10 });
  const next = merge(start.run, [ev(15), ev(3), ev(13)], { max: 10 });
  assert.deepEqual(seqs(next.run), [10, 11, 12, 13]);
  assert.deepEqual(seqs(next.rest), [15]);
  assert.deepEqual(gapBefore(next.run, next.rest), { after: 13, upto: 14 });
});

test("the end of one fire of a job that goes on reads as the fire's outcome", () => {
  const fire = { type: "job.completed", status: "pending", payload: { cycle: 55 } };
  assert.equal(headline(fire), "fire 55 succeeded");
  assert.equal(headline({ ...fire, type: "job.failed" }), "fire 55 failed");
  assert.equal(headline({ ...fire, status: "completed" }), "job.completed");
  assert.equal(headline({ type: "job.created", status: "pending", payload: {} }), "job.created");
});

test("the job table's status filter and search become job.list params", async () => {
  const { listParams, PAGE_ROWS } = await import("../../runtime/gateway/static/jobs_panel.js");
  const base = { limit: PAGE_ROWS, cursor: null, with_total: true };
  assert.deepEqual(listParams("all", "", null), { ...base, all: true });
  assert.deepEqual(listParams("live", "", null), base);
  assert.deepEqual(listParams("failed", "db", "c2"), {
    ...base,
    cursor: "c2",
    statuses: ["failed"],
    search: "db",
  });
});
