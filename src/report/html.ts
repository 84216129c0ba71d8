/**
 * Assembles the report page: a summary, then one section per chart (each with a stable id),
 * tables, and an inline style sheet. The page loads nothing: no script, no font, no image.
 *
 * @module
 */

import { heatmapChart, heatStepLabels, modelChart, scoreChart, trafficChart } from "./charts.ts";
import type {
  AnomalyEntry,
  AnomalyPortEntry,
  IncidentEntry,
  ModelEntry,
  ReportData,
} from "../store/report.ts";
import { LIMITS } from "../store/report.ts";
import { count, duration, figure, flowEndings, isoMinute, isoTime, plural } from "./format.ts";
import { html, type Markup, type Part, raw } from "./markup.ts";

/** Where the report comes from, for its header. */
export interface ReportSource {
  /** The database file, as given. */
  database: string;
  /** The host's name, when known. */
  host: string | null;
  generatedAt: number;
  /** Rounds of the whole database, to say where the data is when the range holds none. */
  databaseSpan: { rounds: number; first: number; last: number } | null;
}

/** The models table lists at most this many versions, newest first. */
const LISTED_MODELS = 48;

/** The whole page. */
export function renderReport(data: ReportData, source: ReportSource): string {
  const title = `pad report${source.host ? ` — ${source.host}` : ""}`;
  const empty = data.rounds.total === 0;
  return html`
    <!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${title}, ${isoMinute(data.range.since)} – ${isoMinute(data.range.until)}</title>
        <style>${raw(STYLE)}</style>
      </head>
      <body>
        <header id="summary">
          <h1>${title}</h1>
          ${summary(data, source)} ${empty ? nothingInRange(data, source) : ""}
          <nav>
            <a href="#incidents">Incidents</a>
            <a href="#scores">Scores</a>
            <a href="#anomalies">Anomalies</a>
            <a href="#heatmap">Port activity</a>
            <a href="#traffic">Packets</a>
            <a href="#models">Model</a>
          </nav>
        </header>
        <main>
          ${incidentsSection(data)} ${scoresSection(data)} ${anomaliesSection(data)}
          ${heatmapSection(data)}
          ${trafficSection(data)} ${modelsSection(data)}
        </main>
        <footer>
          Written by <code>pad report</code> at ${isoTime(source.generatedAt)}. Times are UTC.
          This file is self-contained: opening it fetches nothing.
        </footer>
      </body>
    </html>
  `.text + "\n";
}

function summary(data: ReportData, source: ReportSource): Markup {
  const r = data.rounds;
  const statuses = [
    `${count(r.complete)} complete`,
    r.failed > 0 && `${count(r.failed)} failed`,
    r.open > 0 && `${count(r.open)} open`,
  ].filter(Boolean).join(", ");
  const scoring = [
    `${count(r.scored)} scored`,
    r.warmup > 0 && `${count(r.warmup)} in warm-up`,
    r.partial > 0 && `${count(r.partial)} partial (captured in part: not judged)`,
    r.unscored > 0 && `${count(r.unscored)} not scored yet (pad detect scores them)`,
  ].filter(Boolean).join(", ");
  const rounds = r.total > 0 ? `${count(r.total)} (${statuses}; ${scoring})` : "0";
  const span = r.first !== null ? `${isoTime(r.first)} to ${isoTime(r.last!)}` : null;
  const range = `${isoTime(data.range.since)} – ${isoTime(data.range.until)} (${
    duration(data.range.until - data.range.since)
  })`;
  const m = data.latestModel;
  const model = m
    ? [
      `v${m.id}`,
      `threshold ${m.threshold === null ? "not calibrated yet" : figure(m.threshold)}`,
      `learned from ${plural(m.roundsTrained, "round")}` +
      (m.trainedUntil !== null ? ` until ${isoMinute(m.trainedUntil)}` : ""),
    ].join(", ")
    : "none yet (pad detect trains one)";
  const capture = r.total === 0
    ? "–"
    : r.captureOff === 0
    ? "on in every round"
    : `off in ${plural(r.captureOff, "round")} of ${count(r.total)}`;
  const alert = data.anomalies.total > 0 ? "alert" : "";
  const needAnswer = data.incidents.filter((i) => i.status === "open").length;
  return html`
    <dl class="summary">
      <dt>Database</dt>
      <dd><code>${source.database}</code></dd>
      <dt>Range</dt>
      <dd>${range}</dd>
      <dt>Rounds</dt>
      <dd id="round-count" data-count="${r.total}">
        ${rounds}${span !== null ? html`<br><span class="muted">${span}</span>` : ""}
      </dd>
      <dt>Incidents</dt>
      <dd id="incident-count" data-count="${data.incidents.length}" class="${needAnswer > 0
        ? "alert"
        : ""}">
        ${count(data.incidents.length)}${needAnswer > 0 ? ` (${count(needAnswer)} open)` : ""}
      </dd>
      <dt>Anomalies</dt>
      <dd id="anomaly-count" data-count="${data.anomalies.total}" class="${alert}">
        ${count(data.anomalies.total)}
      </dd>
      <dt>Model</dt>
      <dd id="model-version">${model}</dd>
      <dt>Capture</dt>
      <dd>${capture}</dd>
    </dl>
  `;
}

function nothingInRange(data: ReportData, source: ReportSource): Markup {
  const span = source.databaseSpan;
  const where = span
    ? `The database holds ${plural(span.rounds, "round")}, from ${isoTime(span.first)} to ` +
      `${isoTime(span.last)}: choose --since and --until around them.`
    : "The database holds no rounds yet: pad collect writes them.";
  const text = `Nothing in this range: no rounds between ${isoTime(data.range.since)} and ` +
    `${isoTime(data.range.until)}. ${where}`;
  return html`<p class="notice" id="nothing">${text}</p>`;
}

function section(id: string, title: string, body: Part): Markup {
  return html`
    <section id="${id}">
      <h2>${title}</h2>
      ${body}
    </section>
  `;
}

/** An explanation under a section's title (plain text: escaped like any value). */
function note(text: string): Markup {
  return html`<p class="note">${text}</p>`;
}

function none(what: string): Markup {
  return html`<p class="empty">${what}</p>`;
}

function legend(items: [className: string, label: string][]): Markup {
  const keys = items.map(([c, label]) => html`<span><i class="key ${c}"></i>${label}</span>`);
  return html`<p class="legend">${keys}</p>`;
}

function scoresSection(data: ReportData): Markup {
  const chart = scoreChart(data);
  if (!chart) {
    return section(
      "scores",
      "Anomaly score per round",
      none(
        data.rounds.total === 0
          ? "Nothing in this range."
          : "No round of this range has been scored yet: pad detect scores them.",
      ),
    );
  }
  const per = data.scores.buckets.bucketMs > 60_000
    ? ` Each point is the highest score in a ${duration(data.scores.buckets.bucketMs)} bucket.`
    : "";
  return section("scores", "Anomaly score per round", [
    note(
      "How unlike the model's idea of normal each round was: its most surprising feature's " +
        "error, in units of that feature's usual error. A round is an anomaly when its score " +
        `exceeds the threshold in force when it was scored.${per}`,
    ),
    legend([
      ["k-score", "score"],
      ["k-warmup", "warm-up (learned from, never flagged)"],
      ["k-threshold", "threshold"],
      ["k-anomaly", "anomaly (click: its row below)"],
    ]),
    chart,
  ]);
}

function incidentRow(i: IncidentEntry): Markup {
  return html`
    <tr id="incident-${i.id}" class="incident-row status-${i.status}">
      <td class="num">${i.id}</td>
      <td>${i.status}</td>
      <td class="summary-text">${i.summary}</td>
      <td class="time">${isoTime(i.start)}<br><span class="muted">to ${isoTime(i.end)}</span></td>
      <td class="num">${count(i.rounds)}</td>
      <td class="num">${i.peakScore === null ? "rule" : figure(i.peakScore)}</td>
      <td>
        <ul class="ports">${i.ports.map((p) => html`<li><span class="port">${p}</span></li>`)}</ul>
      </td>
      <td class="flows">${flowStates(i.flowStates)}</td>
    </tr>
  `;
}

/** `1,997 (1,986 unanswered, 6 open, 5 reset)`; `–` when its rounds kept no flows. */
function flowStates(states: Record<string, number>): string {
  const total = Object.values(states).reduce((a, b) => a + b, 0);
  return total === 0 ? "–" : `${count(total)} (${flowEndings(states)})`;
}

function incidentsSection(data: ReportData): Markup {
  const { incidents } = data;
  if (incidents.length === 0) {
    return section(
      "incidents",
      "Incidents",
      none(data.rounds.total === 0 ? "Nothing in this range." : "No incidents in this range."),
    );
  }
  return section("incidents", `Incidents (${count(incidents.length)})`, [
    note(
      "What happened, newest first: flagged rounds that belong together, in words. " +
        "pad incidents show ID gives an incident's rounds; pad accept ID marks one as " +
        "legitimate, pad ack ID as seen.",
    ),
    html`
      <table class="incidents">
        <thead>
          <tr>
            <th>Incident</th>
            <th>Status</th>
            <th>What happened</th>
            <th>When (UTC)</th>
            <th>Rounds</th>
            <th>Peak score</th>
            <th>Ports</th>
            <th>Flows</th>
          </tr>
        </thead>
        <tbody>${incidents.map(incidentRow)}</tbody>
      </table>
    `,
  ]);
}

function portText(p: AnomalyPortEntry): Markup {
  const name = p.port === null ? p.protocol : `${p.protocol}/${p.port}`;
  const owner = p.command !== null
    ? `${p.command}${p.pid !== null ? ` ${p.pid}` : ""}`
    : p.pid !== null
    ? `pid ${p.pid}`
    : "";
  const process = owner ? [" ", html`<span class="process">${owner}</span>`] : [];
  // The spaces are values, not layout: deno fmt may rewrap the literals around them.
  const parts = [
    html`<span class="port">${name}</span>`,
    process,
    " ",
    html`<span class="muted">${figure(p.error)}</span>`,
  ];
  return html`<li>${parts}</li>`;
}

function anomalyRow(a: AnomalyEntry): Markup {
  const more = a.morePorts > 0 ? html`<li class="muted">+${a.morePorts} more</li>` : "";
  return html`
    <tr id="anomaly-${a.id}" class="anomaly-row" data-round="${a.roundId}">
      <td class="time">${isoTime(a.start)}</td>
      <td class="num">${a.roundId}</td>
      <td class="num">${a.score === null ? "–" : figure(a.score)}</td>
      <td class="num">${a.threshold === null ? "–" : figure(a.threshold)}</td>
      <td class="num">${a.score === null || a.threshold === null
        ? ""
        : `${figure(a.score / a.threshold)}×`}${a.reason === "score"
        ? ""
        : html`<br><span class="muted">${
          a.reason === "rule" ? "a rule" : "a new listener"
        }</span>`}</td>
      <td>
        <ul class="ports">${a.ports.map(portText)}${more}</ul>
      </td>
      <td class="num">${a.modelId === null ? "–" : `v${a.modelId}`}</td>
    </tr>
  `;
}

function anomaliesSection(data: ReportData): Markup {
  const { total, listed } = data.anomalies;
  if (total === 0) {
    return section(
      "anomalies",
      "Anomalies",
      none(data.rounds.total === 0 ? "Nothing in this range." : "No anomalies in this range."),
    );
  }
  const capped = total > listed.length
    ? ` The first ${count(listed.length)} of ${count(total)} are listed (every one is marked ` +
      "on the chart); narrow --since and --until to list the others."
    : "";
  return section("anomalies", `Anomalies (${count(total)})`, [
    note(
      "Each flagged round with the ports behind its score, worst first: protocol/port, the " +
        "owning process and pid where collect knew them, and the port's share of the error." +
        capped,
    ),
    html`
      <table class="anomalies">
        <thead>
          <tr>
            <th>Round start (UTC)</th>
            <th>Round</th>
            <th>Score</th>
            <th>Threshold</th>
            <th>Score / threshold</th>
            <th>Ports (worst first)</th>
            <th>Model</th>
          </tr>
        </thead>
        <tbody>${listed.map(anomalyRow)}</tbody>
      </table>
    `,
  ]);
}

function heatmapSection(data: ReportData): Markup {
  const chart = heatmapChart(data);
  if (!chart) {
    return section(
      "heatmap",
      "Port activity",
      none(data.rounds.total === 0 ? "Nothing in this range." : "No port was seen in this range."),
    );
  }
  const map = data.heatmap;
  return section("heatmap", "Port activity", [
    note(
      `${plural(map.rows.length, "port")} that mattered (at most ${LIMITS.heatmapRows}): ` +
        "those behind anomalies, listeners that came or went, then the busiest by packets. " +
        `Each column is ${duration(map.bucketMs)}; the colour is packets (in and out) per round.`,
    ),
    legend([
      ["k-reason-anomaly", "port behind an anomaly"],
      ["k-reason-listener", "listener that came or went"],
      ["k-occupied", "occupied, no traffic"],
      ["k-veil", "capture off"],
      ...heatStepLabels().map((label, i): [string, string] => [`heat${i}`, label]),
      ["k-anomaly-tick", "anomaly"],
    ]),
    chart,
  ]);
}

function trafficSection(data: ReportData): Markup {
  const chart = trafficChart(data);
  if (!chart) return section("traffic", "Packets per round", none("Nothing in this range."));
  const t = data.traffic.totals;
  const drops = t.dropped > 0
    ? `${count(t.dropped)} dropped by libpcap or the interface in ` +
      `${plural(t.roundsWithDrops, "round")}.`
    : "no capture drops.";
  const reasons = t.captureOffReasons.map((r) =>
    html`<li>${plural(r.rounds, "round")}: <q>${r.reason}</q></li>`
  );
  return section("traffic", "Packets per round", [
    note(
      "Packets in and out of local ports, as counted per round (loopback packets count on " +
        `both sides). ${count(t.packetsIn)} in and ${count(t.packetsOut)} out in the range; ` +
        drops,
    ),
    legend([
      ["k-in", "packets in"],
      ["k-out", "packets out"],
      ["k-drops", "rounds with drops"],
      ["k-off", "capture off (traffic unknown)"],
    ]),
    chart,
    reasons.length > 0
      ? [note("Why capture was off:"), html`<ul class="reasons">${reasons}</ul>`]
      : "",
  ]);
}

function modelRow(m: ModelEntry): Markup {
  const f = m.fit;
  const epochs = f ? `${f.bestEpoch} / ${f.epochs}${f.stoppedEarly ? " (early stop)" : ""}` : "–";
  const loss = (v: number | null | undefined) => v === null || v === undefined ? "–" : figure(v);
  return html`
    <tr>
      <td class="num">v${m.id}</td>
      <td>${isoTime(m.created)}</td>
      <td>${m.trainedUntil === null ? "–" : isoMinute(m.trainedUntil)}</td>
      <td class="num">${count(m.roundsTrained)}</td>
      <td class="num">${f ? count(f.windows) : "–"}</td>
      <td class="num">${epochs}</td>
      <td class="num">${loss(f?.trainLoss)}</td>
      <td class="num">${loss(f?.validationLoss)}</td>
      <td class="num">${f ? `${figure(f.seconds)} s` : "–"}</td>
      <td class="num">${m.threshold === null ? "warm-up" : figure(m.threshold)}</td>
    </tr>
  `;
}

function modelsSection(data: ReportData): Markup {
  const models = data.models;
  if (models.length === 0) {
    const newest = data.latestModel;
    return section(
      "models",
      "Model training history",
      none(
        newest
          ? `No model version scored or learned from rounds of this range (the newest is v${newest.id}).`
          : "No model yet: pad detect trains one.",
      ),
    );
  }
  const chart = modelChart(data);
  const listed = models.slice(-LISTED_MODELS).reverse();
  return section("models", `Model training history (${plural(models.length, "version")})`, [
    note(
      "The versions that scored rounds of this range or learned from them. Each hourly detect " +
        "refits on the rounds it judged normal, with early stopping; the losses are those of " +
        "the epoch it kept." +
        (models.length > listed.length ? ` The newest ${listed.length} are listed.` : ""),
    ),
    chart
      ? [legend([["k-train", "training loss"], ["k-validation", "validation loss"]]), chart]
      : "",
    html`
      <table class="models">
        <thead>
          <tr>
            <th>Version</th>
            <th>Saved (UTC)</th>
            <th>Trained until</th>
            <th>Rounds learned</th>
            <th>Windows</th>
            <th>Epoch kept / run</th>
            <th>Training loss</th>
            <th>Validation loss</th>
            <th>Fit</th>
            <th>Threshold</th>
          </tr>
        </thead>
        <tbody>${listed.map(modelRow)}</tbody>
      </table>
    `,
  ]);
}

/** Viridis, light to dark: readable in grey and by people with colour-blindness. */
const HEAT_COLOURS = [
  "#fde725",
  "#b5de2b",
  "#6ece58",
  "#35b779",
  "#1f9e89",
  "#26828e",
  "#31688e",
  "#3e4989",
  "#482878",
];

const STYLE = `
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --red: #dc2626;
  --blue: #2563eb; --teal: #0d9488; }
* { box-sizing: border-box; }
body { margin: 0; background: #f8fafc; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 22px; margin: 0 0 10px; }
h2 { font-size: 17px; margin: 0 0 6px; }
code { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0 0 12px; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; }
dd.alert { color: var(--red); font-weight: 600; }
nav a { margin-right: 14px; color: var(--blue); text-decoration: none; }
nav { padding-bottom: 10px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
  margin: 14px 0; }
.note { color: var(--muted); margin: 0 0 6px; max-width: 100ch; }
.notice { background: #fffbeb; border: 1px solid #fcd34d; border-radius: 6px; padding: 8px 12px; }
.empty { color: var(--muted); font-style: italic; }
.muted { color: var(--muted); }
.legend { margin: 4px 0 6px; font-size: 13px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.key { display: inline-block; width: 18px; height: 10px; margin-right: 5px; vertical-align: baseline;
  border-radius: 2px; }
.k-score { height: 3px; background: var(--blue); vertical-align: middle; }
.k-warmup { background: #fef3c7; border-top: 3px solid #9ca3af; }
.k-threshold { height: 0; border-top: 2px dashed var(--red); vertical-align: middle; }
.k-anomaly, .k-reason-anomaly { width: 10px; border-radius: 50%; background: var(--red); }
.k-reason-listener { width: 10px; border-radius: 50%; background: var(--blue); }
.k-anomaly-tick { width: 0; height: 0; border-left: 5px solid transparent; border-right: 5px solid transparent;
  border-top: 8px solid var(--red); border-radius: 0; }
.k-occupied { background: #d1d5db; }
.k-veil { background: rgba(156, 163, 175, 0.5); }
.k-in { background: var(--blue); }
.k-out { background: var(--teal); }
.k-drops { background: var(--red); }
.k-off { background: #6b7280; }
.k-train { height: 3px; background: var(--blue); vertical-align: middle; }
.k-validation { height: 3px; background: #ea580c; vertical-align: middle; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: #374151; }
svg.chart text.title { fill: var(--muted); }
.grid { stroke: var(--line); }
.domain, .tick { stroke: #9ca3af; }
.score { fill: none; stroke: var(--blue); stroke-width: 1.5; stroke-linejoin: round; }
.score.warmup { stroke: #9ca3af; }
.warmup-band { fill: #fef3c7; }
svg.chart text.band-label { fill: #92400e; }
.threshold { fill: none; stroke: var(--red); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg.chart text.threshold-label { fill: var(--red); font-weight: 600; }
.anomaly-marker { fill: var(--red); stroke: #fff; stroke-width: 1.5; }
.anomaly-tick { fill: var(--red); }
.stripe { fill: #fff; }
.stripe.odd { fill: #f9fafb; }
.occupied { fill: #d1d5db; }
${HEAT_COLOURS.map((c, i) => `.heat${i} { fill: ${c}; background: ${c}; }`).join("\n")}
svg.chart text.port-label { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
svg.chart text.port-label.flagged { fill: var(--red); font-weight: 600; }
svg.chart text.command-label { fill: var(--muted); }
.reason-anomaly { fill: var(--red); }
.reason-listener { fill: var(--blue); }
.packets-in { fill: var(--blue); fill-opacity: 0.85; }
.packets-out { fill: var(--teal); fill-opacity: 0.75; }
.lane { fill: #f3f4f6; }
svg.chart text.lane-label { fill: var(--muted); }
.capture-off { fill: #6b7280; }
.off-band { fill: #e5e7eb; fill-opacity: 0.7; }
.off-veil { fill: #9ca3af; fill-opacity: 0.35; }
.drops { fill: var(--red); }
.loss-train { fill: none; stroke: var(--blue); stroke-width: 1.5; }
.loss-validation { fill: none; stroke: #ea580c; stroke-width: 1.5; }
.loss-train.dot { fill: var(--blue); stroke: #fff; }
.loss-validation.dot { fill: #ea580c; stroke: #fff; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line);
  padding: 4px 8px; }
td { border-bottom: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
td.time { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:target { background: #fef2f2; }
tr.status-open td:first-child { border-left: 3px solid var(--red); }
td.summary-text { font-weight: 600; }
ul.ports { list-style: none; margin: 0; padding: 0; }
ul.ports li { display: inline-block; margin-right: 14px; }
.port { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; font-weight: 600; }
.process { color: #7c2d12; }
ul.reasons { margin: 0; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 24px; }
`;
