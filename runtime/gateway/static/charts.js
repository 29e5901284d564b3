// The last hour in one-minute buckets, drawn as inline SVG (no library, no network).

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 120;
const OUTCOME_ORDER = [
  "success", "failed", "timeout", "cancelled", "breaker_open", "skipped", "interrupted",
];

function svg(tag, attributes, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

function title(text) {
  const t = document.createElementNS(SVG, "title");
  t.textContent = text;
  return t;
}

/** Fire lags and run outcomes of the last hour, from the daemon's per-minute aggregate
 * (stats.fires: every committed event, not the page of events this tab holds). */
export class HourCharts {
  constructor() {
    this.minutes = []; // stats.fires minutes, oldest first
  }

  /** Take a stats.fires answer. */
  set(stats) {
    this.minutes = stats.minutes || [];
  }

  ago(i) {
    return this.minutes.length - 1 - i;
  }

  /** An SVG of the worst fire lag per minute. */
  lagChart() {
    const worst = this.minutes.map((m) => m.worst_lag);
    const top = Math.max(0.01, ...worst);
    const bars = worst.map((lag, i) => {
      const height = (lag / top) * (HEIGHT - 14);
      return svg(
        "rect",
        { class: "bar lag", x: i * 10 + 1, y: HEIGHT - height, width: 8, height },
        title(`${this.ago(i)} min ago: ${this.minutes[i].fired} fires, worst lag ${lag.toFixed(3)} s`),
      );
    });
    const fired = this.minutes.reduce((n, m) => n + m.fired, 0);
    return this.frame("fire lag", `max ${top.toFixed(3)} s`, bars, `${fired} fires`);
  }

  /** An SVG of run outcomes per minute, stacked. */
  outcomeChart() {
    const counts = this.minutes.map((m) => m.outcomes || {});
    const totals = counts.map((c) => Object.values(c).reduce((a, b) => a + b, 0));
    const top = Math.max(1, ...totals);
    const bars = [];
    counts.forEach((c, i) => {
      let y = HEIGHT;
      for (const outcome of OUTCOME_ORDER) {
        if (!c[outcome]) continue;
        const height = (c[outcome] / top) * (HEIGHT - 14);
        y -= height;
        bars.push(
          svg(
            "rect",
            { class: `bar o-${outcome}`, x: i * 10 + 1, y, width: 8, height },
            title(`${this.ago(i)} min ago: ${c[outcome]} ${outcome}`),
          ),
        );
      }
    });
    const runs = totals.reduce((a, b) => a + b, 0);
    return this.frame("outcomes", `max ${top}/min`, bars, `${runs} runs`);
  }

  frame(name, scale, bars, total) {
    const label = svg("text", { x: 4, y: 11, class: "chart-label" });
    label.textContent = `${name} · last hour · ${scale} · ${total}`;
    return svg(
      "svg",
      {
        viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
        class: "chart",
        role: "img",
        "aria-label": name,
      },
      svg("line", { x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5, class: "axis" }),
      label,
      ...bars,
    );
  }
}
