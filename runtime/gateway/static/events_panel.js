// The events panel: the newest page by seq, then the live stream from the last seq held,
// older pages on demand, never a gap (eventlog.js merges), at most MAX_SHOWN in the DOM.
//
// Load: events.list {newest, limit: PAGE} gives a gap-free run ending at some seq S; then
// events.subscribe {since_seq: S} replays S+1… from the store and goes live. Notifications
// can arrive before the subscribe answer (and after a re-subscribe, from either
// subscription): they are all taken, deduplicated on seq, and any gap left (a lagged
// subscription, a reconnect) is filled with events.list before newer events are shown.
// Paging back past MAX_SHOWN drops the newest end: the panel stops following and offers
// "show newest", which reloads the newest page.

import { h } from "./dom.js";
import { gapBefore, merge } from "./eventlog.js";
import { eventLine } from "./views.js";

const PAGE = 200;
const MAX_SHOWN = 1000;
const MAX_PENDING = 5000; // events held beyond a gap, or while paged back

export class EventsPanel {
  /** conn: the Connection; onSeq(seq): the newest seq known. */
  constructor(conn, onSeq) {
    this.conn = conn;
    this.onSeq = onSeq;
    this.run = []; // ascending, gap-free
    this.rest = []; // newer than the run, not joined yet
    this.incoming = [];
    this.following = true;
    this.latest = 0; // the newest seq the daemon has told of
    this.shown = null; // {lo, hi} in the DOM
    this.filling = false;
    this.atStart = false; // paging back found nothing older
    this.timer = null;
    this.list = document.getElementById("events");
    document.getElementById("events-older").addEventListener("click", () => this.older());
    document.getElementById("events-newest").addEventListener("click", () => this.newest());
  }

  /** After each login: the newest page (the first time, when paged back, or when more
   * than MAX_SHOWN events went by), else the run held; then a subscription from its last
   * seq, which replays what was missed. */
  async ready() {
    if (this.run.length && this.following) {
      const top = await this.conn.call("events.list", { newest: true, limit: 1 });
      this.latest = Math.max(this.latest, top.last_seq);
      if (this.latest - this.run[this.run.length - 1].seq > MAX_SHOWN) await this.loadNewest();
    } else {
      await this.loadNewest();
    }
    await this.subscribe();
  }

  async loadNewest() {
    const found = await this.conn.call("events.list", { newest: true, limit: PAGE });
    this.latest = Math.max(this.latest, found.last_seq);
    const pending = this.rest.concat(this.incoming);
    this.run = [];
    this.rest = [];
    this.incoming = [];
    this.following = true;
    this.atStart = false;
    this.apply(merge([], found.events.concat(pending), { max: MAX_SHOWN }));
    this.draw();
  }

  async subscribe() {
    const held = this.run.length ? this.run[this.run.length - 1].seq : this.latest;
    const since = this.following ? held : this.latest;
    await this.conn.call("events.subscribe", { since_seq: since, batch: true });
  }

  /** events.notify / events.lagged from the connection. */
  notified(method, params) {
    if (method === "events.lagged") {
      this.subscribe().catch((err) => console.warn("resubscribe", err.message));
      return;
    }
    if (method !== "events.notify") return;
    this.incoming.push(params.event);
    this.latest = Math.max(this.latest, params.event.seq);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 50);
  }

  flush() {
    this.timer = null;
    const batch = this.incoming;
    this.incoming = [];
    if (this.following) {
      this.apply(merge(this.run, this.rest.concat(batch), { max: MAX_SHOWN }));
      if (this.rest.length) this.fill().catch((err) => console.warn("events gap", err.message));
    } else {
      this.rest = this.rest.concat(batch).slice(-MAX_PENDING);
    }
    this.draw();
  }

  /** Fetch the events missing between the run and what waits beyond a gap, page by page,
   * until the gap is closed (the subscription brings the rest: this never chases it). */
  async fill() {
    if (this.filling || !this.following || !this.run.length) return;
    this.filling = true;
    try {
      for (;;) {
        const gap = gapBefore(this.run, this.rest);
        if (!gap) break;
        if (gap.upto - gap.after > MAX_SHOWN) {
          await this.loadNewest(); // too far behind: start again from the newest page
          return;
        }
        const found = await this.conn.call("events.list", {
          since_seq: gap.after,
          until_seq: gap.upto,
          limit: PAGE,
        });
        this.latest = Math.max(this.latest, found.last_seq);
        if (!found.events.length) {
          await this.loadNewest(); // the gap is not in the store (pruned): start again
          return;
        }
        this.apply(merge(this.run, found.events.concat(this.rest), { max: MAX_SHOWN }));
        this.draw();
      }
    } finally {
      this.filling = false;
    }
  }

  apply({ run, rest }) {
    this.run = run;
    this.rest = rest.slice(-MAX_PENDING);
  }

  /** The page before the oldest event shown; past MAX_SHOWN, the newest are dropped and
   * the panel stops following. */
  async older() {
    if (!this.run.length || this.run[0].seq <= 1) return;
    const found = await this.conn.call("events.list", {
      until_seq: this.run[0].seq - 1,
      newest: true,
      limit: PAGE,
    });
    const merged = merge(this.run, found.events, { max: MAX_SHOWN, keep: "oldest" });
    if (merged.trimmedNewest) this.following = false;
    this.run = merged.run;
    if (!this.following) this.rest = [];
    this.atStart = !found.events.length;
    this.draw();
  }

  async newest() {
    await this.loadNewest();
  }

  /** Bring the list in line with the run: add and remove at either end (newest first),
   * redraw all only when the two do not overlap. */
  draw() {
    const run = this.run;
    const lo = run.length ? run[0].seq : 0;
    const hi = run.length ? run[run.length - 1].seq : -1;
    const was = this.shown;
    if (!was || !run.length || hi < was.lo || lo > was.hi) {
      this.list.replaceChildren(...run.slice().reverse().map(eventLine));
    } else {
      for (let s = was.hi; s > hi; s -= 1) this.list.firstElementChild.remove();
      for (let s = was.lo; s < lo; s += 1) this.list.lastElementChild.remove();
      const newer = run.filter((e) => e.seq > was.hi).reverse().map(eventLine);
      const older = run.filter((e) => e.seq < was.lo).reverse().map(eventLine);
      this.list.prepend(...newer);
      this.list.append(...older);
    }
    this.shown = run.length ? { lo, hi } : null;
    this.status();
    this.onSeq(this.latest);
  }

  status() {
    const run = this.run;
    const range = run.length ? `#${run[0].seq}–#${run[run.length - 1].seq}` : "none";
    const behind = this.latest - (run.length ? run[run.length - 1].seq : 0);
    document.getElementById("events-range").textContent =
      `${range} of ${this.latest}` + (this.following ? " · live" : " · paused");
    const newest = document.getElementById("events-newest");
    newest.hidden = this.following;
    newest.textContent = `${behind} newer — show newest`;
    const older = document.getElementById("events-older");
    older.disabled = this.atStart || !run.length || run[0].seq <= 1;
    older.replaceChildren(h("span", {}, older.disabled ? "start of the log" : `older ${PAGE}`));
  }
}
