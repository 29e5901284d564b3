// The last hour in one-minute buckets, drawn as inline SVG (no library, no network).

const SVG = "http://www.w3.org/2000/svg";
const MINUTES = 60;
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

/** Fire lags and run outcomes of the last hour, fed from events. */
export class HourCharts {
  constructor() {
    this.lags = []; // [ms timestamp, seconds]
    this.outcomes = []; // [ms timestamp, outcome]
  }

  /** Take one event into account (job.fired lag, or a run's outcome). */
  add(event) {
    const at = new Date(event.timestamp).getTime();
    const p = event.payload || {};
    if (event.type === "job.fired" && typeof p.lag === "number") this.lags.push([at, p.lag]);
    if (p.run_id && event.outcome && "duration" in p) this.outcomes.push([at, event.outcome]);
    this.trim();
  }

  trim() {
    const cutoff = Date.now() - MINUTES * 60000;
    this.lags = this.lags.filter(([at]) => at >= cutoff);
    this.outcomes = this.outcomes.filter(([at]) => at >= cutoff);
  }

  bucket(at) {
    return MINUTES - 1 - Math.floor((Date.now() - at) / 60000);
  }

  /** An SVG of the worst fire lag per minute. */
  lagChart() {
    this.trim();
    const worst = new Array(MINUTES).fill(0);
    for (const [at, lag] of this.lags) {
      const i = this.bucket(at);
      if (i >= 0 && i < MINUTES) worst[i] = Math.max(worst[i], lag);
    }
    const top = Math.max(0.01, ...worst);
    const bars = worst.map((lag, i) => {
      const height = (lag / top) * (HEIGHT - 14);
      return svg(
        "rect",
        { class: "bar lag", x: i * 10 + 1, y: HEIGHT - height, width: 8, height },
        title(`${MINUTES - 1 - i} min ago: worst lag ${lag.toFixed(3)} s`),
      );
    });
    return this.frame("fire lag", `max ${top.toFixed(3)} s`, bars, this.lags.length);
  }

  /** An SVG of run outcomes per minute, stacked. */
  outcomeChart() {
    this.trim();
    const counts = Array.from({ length: MINUTES }, () => ({}));
    for (const [at, outcome] of this.outcomes) {
      const i = this.bucket(at);
      if (i >= 0 && i < MINUTES) counts[i][outcome] = (counts[i][outcome] || 0) + 1;
    }
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
            title(`${MINUTES - 1 - i} min ago: ${c[outcome]} ${outcome}`),
          ),
        );
      }
    });
    return this.frame("outcomes", `max ${top}/min`, bars, this.outcomes.length);
  }

  frame(name, scale, bars, samples) {
    const label = svg("text", { x: 4, y: 11, class: "chart-label" });
    label.textContent = `${name} · last hour · ${scale} · ${samples} samples`;
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
