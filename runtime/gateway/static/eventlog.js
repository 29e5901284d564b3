// The events panel's pure core: a gap-free run of events by seq, and how events read.
// No DOM, no network: tests/dashboard/eventlog.test.mjs runs it under node.

const bySeq = (a, b) => a.seq - b.seq;

/**
 * Merge `incoming` events into `run`, an ascending gap-free run of events (by seq).
 *
 * The result's run extends `run` both ways as far as the seqs stay contiguous (an empty
 * `run` starts from the newest incoming event, or the oldest with keep "oldest"); it holds
 * at most `max` events, trimmed from the oldest end (keep "newest": following the live
 * stream) or from the newest end (keep "oldest": paging back). Duplicates are dropped, so
 * events may arrive in any order and any number of times. `rest` holds the events newer
 * than the run that could not join it (after a gap, or trimmed off its newest end),
 * ascending; older events that cannot join are dropped (paging back fetches them again).
 *
 * @returns {{run: object[], rest: object[], trimmedNewest: boolean}}
 */
export function merge(run, incoming, { max, keep = "newest" }) {
  const seen = new Map();
  for (const e of run) seen.set(e.seq, e);
  for (const e of incoming) if (!seen.has(e.seq)) seen.set(e.seq, e);
  if (!seen.size) return { run: [], rest: [], trimmedNewest: false };
  let lo;
  let hi;
  if (run.length) {
    lo = run[0].seq;
    hi = run[run.length - 1].seq;
  } else {
    let pick = keep === "newest" ? -Infinity : Infinity;
    for (const s of seen.keys()) pick = keep === "newest" ? Math.max(pick, s) : Math.min(pick, s);
    lo = hi = pick;
  }
  while (seen.has(hi + 1)) hi += 1;
  while (seen.has(lo - 1)) lo -= 1;
  let from = lo;
  let to = hi;
  if (to - from + 1 > max) {
    if (keep === "newest") from = to - max + 1;
    else to = from + max - 1;
  }
  const out = [];
  for (let s = from; s <= to; s += 1) out.push(seen.get(s));
  const rest = [];
  for (const e of seen.values()) if (e.seq > to) rest.push(e);
  rest.sort(bySeq);
  return { run: out, rest, trimmedNewest: to < hi };
}

/** The seqs missing between `run`'s newest event and the first of `rest` (ascending), as
 * `{after, upto}` (an events.list since_seq/until_seq pair), or null when there is none. */
export function gapBefore(run, rest) {
  if (!run.length || !rest.length) return null;
  const after = run[run.length - 1].seq;
  const upto = rest[0].seq - 1;
  return upto > after ? { after, upto } : null;
}

/** Is `events` (ascending) gap-free? */
export function contiguous(events) {
  return events.every((e, i) => i === 0 || e.seq === events[i - 1].seq + 1);
}

const FIRE_ENDS = {
  "job.completed": "succeeded",
  "job.failed": "failed",
  "job.timed_out": "timed out",
  "job.skipped": "skipped",
};
const TERMINAL = ["completed", "failed", "cancelled", "timed_out", "skipped"];

/**
 * What an event says in one line: its type, except the end of one fire of a job that
 * goes on (a recurring job back to pending): "fire 55 succeeded", not "job.completed",
 * since the job itself did not complete.
 */
export function headline(event) {
  const ended = FIRE_ENDS[event.type];
  const cycle = (event.payload || {}).cycle;
  if (ended && cycle !== undefined && event.status && !TERMINAL.includes(event.status)) {
    return `fire ${cycle} ${ended}`;
  }
  return event.type;
}
