/**
 * The report's four charts as inline SVG: scores against the threshold, port activity, packets
 * per round, and the model's fits. Each returns null when it has nothing to draw. Colours and
 * line styles live in the page's style sheet (classes), so the SVG stays small.
 *
 * @module
 */

import type { Buckets, ReportData, Timeline } from "../store/report.ts";
import { count, duration, figure, isoMinute, plural } from "./format.ts";
import { html, type Markup } from "./markup.ts";
import {
  brokenLine,
  chartSvg,
  type Frame,
  line,
  linearScale,
  linearTicks,
  logDomain,
  logScale,
  n,
  path,
  plotArea,
  rect,
  type Scale,
  text,
  timeAxis,
  timeTicks,
  valueAxis,
} from "./svg.ts";

/** Width of every chart, in SVG user units (the page scales it to the window). */
const WIDTH = 1160;
/**
 * Left margin of the charts over time: wide enough for the heatmap's port labels, and the same
 * in all of them so a moment lines up from one chart to the next.
 */
const LEFT = 172;

/** A chart frame of the common width and margins. */
function frameOf(height: number, top: number, bottom = 52): Frame {
  return { width: WIDTH, height, left: LEFT, right: 24, top, bottom };
}

/** The times a bucket starts and ends. */
function bucketEdges(buckets: Buckets, bucket: number): [number, number] {
  const start = buckets.start + bucket * buckets.bucketMs;
  return [start, start + buckets.bucketMs];
}

function bucketOf(buckets: Buckets, time: number): number {
  return Math.floor((time - buckets.start) / buckets.bucketMs);
}

/**
 * Runs of rows whose buckets follow each other and satisfy `test`, as [first, last] indices
 * into `rows` (sorted by bucket).
 */
function runs<T extends { bucket: number }>(rows: readonly T[], test: (row: T) => boolean) {
  const found: [number, number][] = [];
  rows.forEach((row, i) => {
    if (!test(row)) return;
    const last = found.at(-1);
    if (last && last[1] === i - 1 && rows[i - 1]!.bucket === row.bucket - 1) last[1] = i;
    else found.push([i, i]);
  });
  return found;
}

// Not Math.min(...values): a week of anomalies could outgrow the limit on arguments.
function minimum(values: readonly number[]): number {
  return values.reduce((a, b) => Math.min(a, b), Infinity);
}

function maximum(values: readonly number[]): number {
  return values.reduce((a, b) => Math.max(a, b), -Infinity);
}

function timeScale(timeline: Timeline, frame: Frame): Scale {
  const { x0, x1 } = plotArea(frame);
  return linearScale(timeline.start, timeline.end, x0, x1);
}

/**
 * Each round's score (the highest of its bucket when a bucket holds several) on a log scale,
 * the threshold as a dashed step line, warm-up as a shaded band with the score in grey, and one
 * red marker per stored anomaly that links to its row in the table.
 */
export function scoreChart(data: ReportData): Markup | null {
  const { buckets, rows } = data.scores;
  const timeline = data.timeline;
  const markers = data.anomalies.markers;
  const values = [
    ...rows.flatMap((r) => [r.score, r.threshold]),
    ...markers.map((m) => m.score),
  ].filter((v): v is number => v !== null && v > 0);
  if (!timeline || values.length === 0) return null;

  const frame = frameOf(344, 16);
  const { x1: right, y0, y1 } = plotArea(frame);
  const x = timeScale(timeline, frame);
  const domain = logDomain(minimum(values), maximum(values) * 1.1);
  const y = logScale(domain.lo, domain.hi, y1, y0);
  const center = (bucket: number) => x(buckets.start + (bucket + 0.5) * buckets.bucketMs);

  const bands = runs(rows, (r) => r.warmup > 0 && r.warmup === r.rounds).map(([a, b]) => {
    const [from] = bucketEdges(buckets, rows[a]!.bucket);
    const [, to] = bucketEdges(buckets, rows[b]!.bucket);
    const title = `warm-up: ${isoMinute(from)} – ${isoMinute(to)}, learned from, never flagged`;
    const wide = x(to) - x(from) > 60;
    return [
      rect(x(from), y0, x(to) - x(from), y1 - y0, "warmup-band", title),
      wide ? text(x(from) + 6, y0 + 14, "warm-up", "band-label") : "",
    ];
  });

  // The line breaks at buckets without a score; warm-up stretches are drawn over it in grey,
  // each joined to the point before it.
  const all: ([number, number] | null)[] = [];
  const warm: ([number, number] | null)[] = [];
  let previous = -2;
  for (const r of rows) {
    if (r.score === null || r.bucket !== previous + 1) {
      all.push(null);
      warm.push(null);
    }
    previous = r.score === null ? -2 : r.bucket;
    if (r.score === null) continue;
    const point: [number, number] = [center(r.bucket), y(r.score)];
    all.push(point);
    const isWarm = r.warmup === r.rounds;
    if (isWarm && warm.at(-1) === null && all.at(-2)) warm.push(all.at(-2)!);
    warm.push(isWarm ? point : null);
  }

  // The threshold of each bucket as a step: it changes only when a new model version judges.
  let threshold = "";
  let last: { bucket: number; value: number } | null = null;
  for (const r of rows) {
    if (r.threshold === null || r.threshold <= 0) continue;
    const [from, to] = bucketEdges(buckets, r.bucket);
    const joined = last !== null && last.bucket === r.bucket - 1;
    const level = n(y(r.threshold));
    threshold += `${joined ? "L" : "M"}${n(x(from))} ${level}L${n(x(to))} ${level}`;
    last = { bucket: r.bucket, value: r.threshold };
  }
  const thresholdLabel = last === null ? "" : text(
    right - 4,
    y(last.value) - 6,
    `threshold ${figure(last.value)}`,
    "threshold-label",
    "end",
  );

  const dots = markers.map((m) => {
    const title = `anomaly in round ${m.roundId} at ${isoMinute(m.start)}: ` +
      (m.score === null
        ? "flagged by a rule before the model scored it"
        : `score ${figure(m.score)}, threshold ${
          m.threshold === null ? "not calibrated" : figure(m.threshold)
        }`);
    const cx = n(center(bucketOf(buckets, m.start)));
    // A round flagged before it had a score sits on the chart's top edge.
    const cy = n(m.score === null ? y0 + 6 : y(m.score));
    return html`
      <a href="#anomaly-${m.id}">
        <circle cx="${cx}" cy="${cy}" r="5" class="anomaly-marker" data-round="${m.roundId}">
          <title>${title}</title>
        </circle>
      </a>
    `;
  });

  return chartSvg(frame, "Anomaly score of each round against the threshold", [
    bands,
    valueAxis(frame, y, domain.ticks, "score (log scale)"),
    timeAxis(frame, x, timeTicks(timeline.start, timeline.end)),
    path(brokenLine(all), "score"),
    path(brokenLine(warm), "score warmup"),
    path(threshold, "threshold"),
    thresholdLabel,
    dots,
  ]);
}

/** Upper bounds of the heatmap's colour steps, in packets per round. */
export const HEAT_STEPS = [3, 10, 30, 100, 300, 1_000, 3_000, 10_000] as const;

/** Labels of the colour steps, for the legend: `< 3`, `3–10`, … `≥ 10k`. */
export function heatStepLabels(): string[] {
  const short = (v: number) => v >= 1000 ? `${v / 1000}k` : String(v);
  return [
    `< ${short(HEAT_STEPS[0])}`,
    ...HEAT_STEPS.slice(1).map((hi, i) => `${short(HEAT_STEPS[i]!)}–${short(hi)}`),
    `≥ ${short(HEAT_STEPS.at(-1)!)}`,
  ];
}

/** The colour step (0–8) of `packetsPerRound` > 0. */
export function heatStep(packetsPerRound: number): number {
  const i = HEAT_STEPS.findIndex((bound) => packetsPerRound < bound);
  return i < 0 ? HEAT_STEPS.length : i;
}

const ROW_HEIGHT = 15;
const LABEL_CHARS = 12;

const REASONS = {
  anomaly: "behind an anomaly",
  listener: "a listener that came or went",
  traffic: "among the busiest ports",
} as const;

/**
 * One row per port that mattered, one column per time bucket: the colour step of its packets
 * per round, light grey where it was occupied without traffic, veiled where capture was off.
 * Runs of equal cells are one rectangle. Red ticks above mark the anomalies.
 */
export function heatmapChart(data: ReportData): Markup | null {
  const map = data.heatmap;
  if (!data.timeline || map.rows.length === 0) return null;
  const frame = frameOf(24 + map.rows.length * ROW_HEIGHT + 52, 24);
  const { x0, x1, y0 } = plotArea(frame);
  const x = timeScale(data.timeline, frame);
  const steps = heatStepLabels();

  const rows = map.rows.map((row, i) => {
    const top = y0 + i * ROW_HEIGHT;
    const name = `${row.protocol}/${row.port}`;
    const command = row.command ?? "";
    const shown = command.length > LABEL_CHARS ? `${command.slice(0, LABEL_CHARS - 1)}…` : command;
    const owner = command ? ` (${command})` : "";
    const cells: Markup[] = [];
    let run: { from: number; to: number; step: number } | null = null;
    const flush = () => {
      if (!run) return;
      const [from] = bucketEdges(map, run.from);
      const [, to] = bucketEdges(map, run.to);
      const what = run.step < 0 ? "occupied, no traffic" : `${steps[run.step]} packets per round`;
      const title = `${name}${owner} ${isoMinute(from)} – ${isoMinute(to)}: ${what}`;
      const className = run.step < 0 ? "occupied" : `heat${run.step}`;
      cells.push(rect(x(from), top + 1, x(to) - x(from), ROW_HEIGHT - 2, className, title));
      run = null;
    };
    for (let c = 0; c < map.columns; c++) {
      const rounds = map.rounds[c] ?? 0;
      const packets = row.packets[c] ?? 0;
      const step = rounds > 0 && packets > 0
        ? heatStep(packets / rounds)
        : (row.occupied[c] ?? 0) > 0
        ? -1
        : null;
      if (run && (step === null || step !== run.step || c !== run.to + 1)) flush();
      if (step === null) continue;
      if (run) run.to = c;
      else run = { from: c, to: c, step };
    }
    flush();
    const dot = row.reason === "traffic" ? "" : html`
      <circle cx="10" cy="${top + ROW_HEIGHT / 2}" r="4" class="reason-${row.reason}">
        <title>${REASONS[row.reason]}</title>
      </circle>
    `;
    const label = row.reason === "anomaly" ? "port-label flagged" : "port-label";
    const tip = html`<title>${name}${owner}: ${REASONS[row.reason]}</title>`;
    return html`
      <g class="heat-row">
        ${rect(x0, top, x1 - x0, ROW_HEIGHT, i % 2 ? "stripe odd" : "stripe")} ${dot}
        ${text(20, top + 11, name, label)} ${text(
          x0 - 6,
          top + 11,
          [shown, tip],
          "command-label",
          "end",
        )}
        ${cells}
      </g>
    `;
  });

  // Columns without capture: their traffic is unknown, so they are veiled, not left white.
  const veiled: [number, number][] = [];
  map.captureOff.forEach((off, c) => {
    if (off === 0 || off < (map.rounds[c] ?? 0)) return;
    const last = veiled.at(-1);
    if (last && last[1] === c - 1) last[1] = c;
    else veiled.push([c, c]);
  });
  const veils = veiled.map(([a, b]) => {
    const [from] = bucketEdges(map, a);
    const [, to] = bucketEdges(map, b);
    const title = `capture off ${isoMinute(from)} – ${isoMinute(to)}: traffic unknown`;
    return rect(x(from), y0, x(to) - x(from), map.rows.length * ROW_HEIGHT, "off-veil", title);
  });

  const ticks = data.anomalies.markers.map((m) => {
    const cx = x(map.start + (bucketOf(map, m.start) + 0.5) * map.bucketMs);
    const d = `M${n(cx - 4)} ${y0 - 12}L${n(cx + 4)} ${y0 - 12}L${n(cx)} ${y0 - 4}Z`;
    const title = `anomaly in round ${m.roundId} at ${isoMinute(m.start)}`;
    return html`
      <path d="${d}" class="anomaly-tick">
        <title>${title}</title>
      </path>
    `;
  });

  return chartSvg(frame, "Port activity over time for the ports that mattered", [
    timeAxis(frame, x, timeTicks(data.timeline.start, data.timeline.end)),
    rows,
    veils,
    ticks,
  ]);
}

/**
 * Packets per round (in, and out stacked on it) as a step area, a lane for rounds whose capture
 * was off and a lane for rounds that dropped packets, so both show however small they are.
 */
export function trafficChart(data: ReportData): Markup | null {
  const { buckets, rows } = data.traffic;
  if (!data.timeline || rows.length === 0) return null;
  const frame = frameOf(324, 48);
  const { x0, x1, y0, y1 } = plotArea(frame);
  const x = timeScale(data.timeline, frame);
  const perRound = (v: number, rounds: number) => rounds > 0 ? v / rounds : 0;
  const inOf = (i: number) => perRound(rows[i]!.packetsIn, rows[i]!.rounds);
  const outOf = (i: number) => inOf(i) + perRound(rows[i]!.packetsOut, rows[i]!.rounds);
  const ticks = linearTicks(maximum(rows.map((_, i) => outOf(i))));
  const y = linearScale(0, ticks.at(-1)!, y1, y0);
  const mean = buckets.bucketMs > 60_000 ? ` (mean over ${duration(buckets.bucketMs)})` : "";

  // A closed step outline per run of buckets: along the top forwards, the bottom backwards.
  const band = (lower: (i: number) => number, upper: (i: number) => number) =>
    runs(rows, () => true).map(([a, b]) => {
      let d = "";
      for (let i = a; i <= b; i++) {
        const [from, to] = bucketEdges(buckets, rows[i]!.bucket);
        const top = n(y(upper(i)));
        d += `${i === a ? "M" : "L"}${n(x(from))} ${top}L${n(x(to))} ${top}`;
      }
      for (let i = b; i >= a; i--) {
        const [from, to] = bucketEdges(buckets, rows[i]!.bucket);
        const bottom = n(y(lower(i)));
        d += `L${n(x(to))} ${bottom}L${n(x(from))} ${bottom}`;
      }
      return d + "Z";
    }).join("");

  const lane = (top: number, label: string) => [
    text(x0 - 6, top + 10, label, "lane-label", "end"),
    rect(x0, top, x1 - x0, 12, "lane"),
  ];
  const off = runs(rows, (r) => r.captureOff > 0).map(([a, b]) => {
    const [from] = bucketEdges(buckets, rows[a]!.bucket);
    const [, to] = bucketEdges(buckets, rows[b]!.bucket);
    const rounds = rows.slice(a, b + 1).reduce((sum, r) => sum + r.captureOff, 0);
    const title = `capture off in ${plural(rounds, "round")}: ${isoMinute(from)} – ${
      isoMinute(to)
    }`;
    const width = x(to) - x(from);
    return [
      rect(x(from), y0, width, y1 - y0, "off-band"),
      rect(x(from), 8, Math.max(1.5, width), 12, "capture-off", title),
    ];
  });
  const drops = rows.filter((r) => r.dropped > 0).map((r) => {
    const [from, to] = bucketEdges(buckets, r.bucket);
    const title = `${count(r.dropped)} packets dropped at ${isoMinute(from)} (${
      plural(r.rounds, "round")
    })`;
    return rect(x(from), 26, Math.max(1.5, x(to) - x(from)), 12, "drops", title);
  });

  return chartSvg(frame, "Packets per round with capture drops", [
    lane(8, "capture off"),
    lane(26, "drops"),
    off,
    drops,
    valueAxis(frame, y, ticks, `packets per round${mean}`, count),
    timeAxis(frame, x, timeTicks(data.timeline.start, data.timeline.end)),
    path(band(() => 0, inOf), "packets-in"),
    path(band(inOf, outOf), "packets-out"),
  ]);
}

/**
 * Each version's losses at the epoch it kept (training and validation), on a log scale, one
 * point per version in order; each point's tooltip has the epochs and when it was fitted.
 */
export function modelChart(data: ReportData): Markup | null {
  const models = data.models.filter((m) => m.fit && (m.fit.trainLoss ?? 0) > 0);
  if (models.length === 0) return null;
  const losses = models.flatMap((m) => [m.fit!.trainLoss, m.fit!.validationLoss])
    .filter((v): v is number => v !== null && v > 0);
  const frame = frameOf(260, 16, 44);
  const { x0, x1, y0, y1 } = plotArea(frame);
  const x = linearScale(-0.5, models.length - 0.5, x0, x1);
  const domain = logDomain(minimum(losses), maximum(losses) * 1.1);
  const y = logScale(domain.lo, domain.hi, y1, y0);
  const every = Math.ceil(models.length / 16);

  const series = (key: "trainLoss" | "validationLoss", className: string, label: string) => {
    const points = models.map((m, i) => {
      const v = m.fit![key];
      return v !== null && v > 0 ? [x(i), y(v)] as [number, number] : null;
    });
    const dots = models.map((m, i) => {
      const p = points[i];
      if (!p) return "";
      const f = m.fit!;
      const title = `v${m.id} ${label} loss ${figure(f[key]!)}: ${f.epochs} epochs (kept ` +
        `${f.bestEpoch}), ${count(f.windows)} windows, fitted ${isoMinute(m.created)}`;
      return html`
        <circle cx="${n(p[0])}" cy="${n(p[1])}" r="3" class="${className} dot">
          <title>${title}</title>
        </circle>
      `;
    });
    return [path(brokenLine(points), className), dots];
  };

  const labels = models.map((m, i) =>
    i % every === 0
      ? [line(x(i), y1, x(i), y1 + 4, "tick"), text(x(i), y1 + 16, `v${m.id}`, "", "middle")]
      : ""
  );

  return chartSvg(frame, "Training and validation loss of each model version", [
    valueAxis(frame, y, domain.ticks, "loss (log scale)"),
    html`
      <g class="axis x">
        ${line(x0, y1, x1, y1, "domain")} ${labels}
        ${text(x1, frame.height - 4, "model version", "title", "end")}
      </g>
    `,
    series("trainLoss", "loss-train", "training"),
    series("validationLoss", "loss-validation", "validation"),
  ]);
}
