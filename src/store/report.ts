/**
 * What `pad report` shows, read from the database (`src/report/` draws it). Every figure is aggregated by SQLite into at
 * most a few thousand rows (time buckets, a capped list of ports), so a week of rounds costs
 * about as much to draw as a day.
 *
 * @module
 */

import { EPHEMERAL_FIRST, EPHEMERAL_LAST } from "../round.ts";
import { type Database, hasTable } from "./database.ts";
import { incidentFlows, type IncidentPort } from "./incidents.ts";
import { jsonList, numberOrNull, textOrNull } from "./row_values.ts";

/** The rounds a report covers: `since` inclusive, `until` exclusive, ms since the epoch. */
export interface ReportRange {
  since: number;
  until: number;
}

/** How many rounds the range holds, by status and by verdict. */
export interface RoundSummary {
  total: number;
  complete: number;
  failed: number;
  open: number;
  scored: number;
  warmup: number;
  /** Complete rounds that `pad detect` has not scored yet. */
  unscored: number;
  /** Rounds its capture covered only in part, which the model did not judge. */
  partial: number;
  captureOff: number;
  /** Start of the first and of the last round, null when there are none. */
  first: number | null;
  last: number | null;
}

/**
 * The time axis every chart shares: from the minute of the first round to the end of the last,
 * cut into equal buckets. Whole minutes keep rounds (one a minute) one to a bucket.
 */
export interface Timeline {
  start: number;
  end: number;
}

/** A time axis cut into `columns` buckets of `bucketMs`. */
export interface Buckets {
  start: number;
  bucketMs: number;
  columns: number;
}

/** Scores of the rounds in one bucket. */
export interface ScoreBucket {
  bucket: number;
  rounds: number;
  /** The highest score (what matters against the threshold); null when none was computed. */
  score: number | null;
  threshold: number | null;
  warmup: number;
  anomalies: number;
}

/** One stored anomaly, as the score chart marks it. */
export interface AnomalyMarker {
  id: number;
  roundId: number;
  /** Start of the flagged round. */
  start: number;
  /** Null for a round a rule flagged before the model scored it, or calibrated a threshold. */
  score: number | null;
  threshold: number | null;
  /** Why it was flagged: "score" (above the threshold), "new listener" or "rule". */
  reason: string;
}

/** A port behind an anomaly, as detect stored it. */
export interface AnomalyPortEntry {
  port: number | null;
  protocol: string;
  error: number;
  pid: number | null;
  command: string | null;
}

/** One anomaly as the table lists it. */
export interface AnomalyEntry extends AnomalyMarker {
  detectedAt: number;
  modelId: number | null;
  /** The worst ports, worst first. */
  ports: AnomalyPortEntry[];
  /** Ports stored beyond those listed. */
  morePorts: number;
}

/** Why a port has a row in the heatmap: an incident names it, it listened, or it was busy. */
export type PortReason = "anomaly" | "listener" | "traffic";

/** An incident the range overlaps, as the report lists it. */
export interface IncidentEntry {
  id: number;
  status: string;
  kind: string;
  summary: string;
  start: number;
  end: number;
  rounds: number;
  peakScore: number | null;
  /** `tcp/4445 (ncat)` and the like. */
  ports: string[];
  /** Flows of its rounds that touch its ports or peers, by how they ended (see incidents.ts). */
  flowStates: Record<string, number>;
}

/** One port of the heatmap, with its activity per column. */
export interface HeatmapRow {
  port: number;
  protocol: string;
  reason: PortReason;
  /** The process last seen owning it in the range, where known. */
  command: string | null;
  /** Packets (in and out) per column. */
  packets: number[];
  /** Rounds per column that saw the port occupied. */
  occupied: number[];
}

/** Port activity over time for the ports that mattered. */
export interface Heatmap extends Buckets {
  /** Rounds per column. */
  rounds: number[];
  /** Rounds per column whose capture was off: their traffic is unknown, not zero. */
  captureOff: number[];
  rows: HeatmapRow[];
}

/** Traffic of the rounds in one bucket. */
export interface TrafficBucket {
  bucket: number;
  rounds: number;
  packetsIn: number;
  packetsOut: number;
  /** Packets libpcap and the interface dropped. */
  dropped: number;
  /** Rounds whose capture was off. */
  captureOff: number;
}

/** Totals of the traffic section. */
export interface TrafficTotals {
  packetsIn: number;
  packetsOut: number;
  dropped: number;
  roundsWithDrops: number;
  /** Why capture was off, most frequent first. */
  captureOffReasons: { reason: string; rounds: number }[];
}

/** How one fit went, from a model version's `metrics`. */
export interface FitSummary {
  windows: number;
  epochs: number;
  bestEpoch: number;
  /** Losses at the epoch kept. */
  trainLoss: number | null;
  validationLoss: number | null;
  stoppedEarly: boolean;
  seconds: number;
}

/** One model version. */
export interface ModelEntry {
  id: number;
  created: number;
  threshold: number | null;
  roundsTrained: number;
  trainedUntil: number | null;
  /** Null when the metrics are absent or unreadable. */
  fit: FitSummary | null;
}

/** Everything one report shows. */
export interface ReportData {
  range: ReportRange;
  rounds: RoundSummary;
  /** Null when the range holds no round. */
  timeline: Timeline | null;
  scores: { buckets: Buckets; rows: ScoreBucket[] };
  anomalies: { total: number; markers: AnomalyMarker[]; listed: AnomalyEntry[] };
  /** Incidents the range overlaps, newest first (none for a database without them). */
  incidents: IncidentEntry[];
  heatmap: Heatmap;
  traffic: { buckets: Buckets; rows: TrafficBucket[]; totals: TrafficTotals };
  /** Versions that scored rounds of the range or learned from them, oldest first. */
  models: ModelEntry[];
  /** The newest version in the database, whatever the range. */
  latestModel: ModelEntry | null;
}

/** Limits that keep the report small and legible. */
export const LIMITS = {
  /** Buckets of the score and traffic charts: one a round for a day of rounds. */
  lineColumns: 1440,
  /** Columns of the heatmap. */
  heatmapColumns: 200,
  /** Rows of the heatmap, and how many of them each reason may claim before the others. */
  heatmapRows: 40,
  anomalyPortRows: 20,
  listenerRows: 10,
  /** Anomalies listed in the table (every one is still marked on the chart). */
  listedAnomalies: 500,
  /** Ports listed per anomaly. */
  portsPerAnomaly: 5,
} as const;

const MINUTE = 60_000;

/** Reads what the report shows for `range`. */
export function loadReport(db: Database, range: ReportRange): ReportData {
  const rounds = roundSummary(db, range);
  const timeline = rounds.first === null ? null : timelineOf(db, range, rounds);
  const line = bucketsOf(timeline, LIMITS.lineColumns);
  const traffic = trafficBuckets(db, range, line);
  return {
    range,
    rounds,
    timeline,
    scores: { buckets: line, rows: scoreBuckets(db, range, line) },
    anomalies: anomaliesOf(db, range),
    incidents: incidentsOf(db, range),
    heatmap: heatmapOf(db, range, bucketsOf(timeline, LIMITS.heatmapColumns)),
    traffic: { buckets: line, rows: traffic, totals: trafficTotals(db, range, traffic) },
    models: modelsOf(db, range),
    latestModel: latestModel(db),
  };
}

/** Bucket lengths in minutes: round ones, so a column reads as "10 min", never "51 min". */
const BUCKET_MINUTES = [1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080];

/** Cuts the timeline into at most `maxColumns` buckets of a round number of minutes. */
export function bucketsOf(timeline: Timeline | null, maxColumns: number): Buckets {
  if (!timeline) return { start: 0, bucketMs: MINUTE, columns: 0 };
  const span = timeline.end - timeline.start;
  const needed = span / maxColumns / MINUTE;
  const minutes = BUCKET_MINUTES.find((m) => m >= needed) ?? Math.ceil(needed);
  const bucketMs = minutes * MINUTE;
  return { start: timeline.start, bucketMs, columns: Math.max(1, Math.ceil(span / bucketMs)) };
}

const IN_RANGE = "r.start_time >= :since AND r.start_time < :until";
/**
 * The same rounds, for `round_traffic t`: a view of two tables (sql/0017), into which SQLite
 * pushes this condition but not a join's, so a report reads the rounds of its range rather than
 * the whole database.
 */
const TRAFFIC_IN_RANGE = `t.round_id IN (SELECT r.id FROM rounds r WHERE ${IN_RANGE})`;

/** The SQL bucket of a round, for statements bound with `:start` and `:bucket`. */
const BUCKET = "CAST((r.start_time - :start) / :bucket AS INTEGER)";

function rangeParams(range: ReportRange) {
  return { since: range.since, until: range.until };
}

function bucketParams(range: ReportRange, buckets: Buckets) {
  return { ...rangeParams(range), start: buckets.start, bucket: buckets.bucketMs };
}

function num(value: unknown): number {
  return Number(value ?? 0);
}

function roundSummary(db: Database, range: ReportRange): RoundSummary {
  const row = db.prepare(
    `SELECT count(*) AS total, sum(r.status = 'complete') AS complete,
       sum(r.status = 'failed') AS failed, sum(r.status = 'open') AS open,
       count(s.round_id) AS scored, sum(s.verdict = 'warmup') AS warmup,
       sum(s.verdict = 'partial') AS partial,
       sum(r.status = 'complete' AND s.round_id IS NULL) AS unscored,
       sum(r.capture_off IS NOT NULL) AS capture_off,
       min(r.start_time) AS first, max(r.start_time) AS last
     FROM rounds r LEFT JOIN round_scores s ON s.round_id = r.id WHERE ${IN_RANGE}`,
  ).get(rangeParams(range))!;
  return {
    total: num(row.total),
    complete: num(row.complete),
    failed: num(row.failed),
    open: num(row.open),
    scored: num(row.scored),
    warmup: num(row.warmup),
    unscored: num(row.unscored),
    partial: num(row.partial),
    captureOff: num(row.capture_off),
    first: numberOrNull(row.first),
    last: numberOrNull(row.last),
  };
}

function timelineOf(db: Database, range: ReportRange, rounds: RoundSummary): Timeline {
  const row = db.prepare(
    `SELECT max(coalesce(r.end_time, r.start_time)) AS end FROM rounds r WHERE ${IN_RANGE}`,
  ).get(rangeParams(range))!;
  const start = Math.floor(rounds.first! / MINUTE) * MINUTE;
  // A round a minute: the last one's minute ends the axis even when it stopped 5 s early.
  const lastMinuteEnd = Math.floor(rounds.last! / MINUTE) * MINUTE + MINUTE;
  const end = Math.max(lastMinuteEnd, Math.ceil(num(row.end) / MINUTE) * MINUTE);
  return { start, end };
}

function scoreBuckets(db: Database, range: ReportRange, buckets: Buckets): ScoreBucket[] {
  return db.prepare(
    `SELECT ${BUCKET} AS bucket, count(*) AS rounds, max(s.score) AS score,
       max(s.threshold) AS threshold, sum(s.verdict = 'warmup') AS warmup,
       sum(s.verdict = 'anomaly') AS anomalies
     FROM rounds r JOIN round_scores s ON s.round_id = r.id
     WHERE ${IN_RANGE} GROUP BY bucket ORDER BY bucket`,
  ).all(bucketParams(range, buckets)).map((row) => ({
    bucket: num(row.bucket),
    rounds: num(row.rounds),
    score: numberOrNull(row.score),
    threshold: numberOrNull(row.threshold),
    warmup: num(row.warmup),
    anomalies: num(row.anomalies),
  }));
}

function anomaliesOf(db: Database, range: ReportRange): ReportData["anomalies"] {
  const rows = db.prepare(
    `SELECT a.id, a.round_id, r.start_time, a.detected_at, a.score, a.threshold, a.model_id,
       a.reason
     FROM anomalies a JOIN rounds r ON r.id = a.round_id
     WHERE ${IN_RANGE} ORDER BY r.start_time, a.id`,
  ).all(rangeParams(range));
  const markers: AnomalyMarker[] = rows.map((row) => ({
    id: num(row.id),
    roundId: num(row.round_id),
    start: num(row.start_time),
    score: numberOrNull(row.score),
    threshold: numberOrNull(row.threshold),
    reason: String(row.reason),
  }));
  const listed = rows.slice(0, LIMITS.listedAnomalies);
  const ports = new Map<number, { ports: AnomalyPortEntry[]; total: number }>();
  if (listed.length > 0) {
    const portRows = db.prepare(
      `SELECT anomaly_id, port_id, protocol, error, pid, command, total FROM (
         SELECT ap.*, row_number() OVER (PARTITION BY ap.anomaly_id ORDER BY ap.error DESC, ap.id)
           AS k, count(*) OVER (PARTITION BY ap.anomaly_id) AS total
         FROM anomaly_ports ap WHERE ap.anomaly_id IN (
           SELECT a.id FROM anomalies a JOIN rounds r ON r.id = a.round_id
           WHERE ${IN_RANGE} ORDER BY r.start_time, a.id LIMIT :limit))
       WHERE k <= :per ORDER BY anomaly_id, k`,
    ).all({ ...rangeParams(range), limit: LIMITS.listedAnomalies, per: LIMITS.portsPerAnomaly });
    for (const row of portRows) {
      const id = num(row.anomaly_id);
      const entry = ports.get(id) ?? { ports: [], total: num(row.total) };
      entry.ports.push({
        port: numberOrNull(row.port_id),
        protocol: String(row.protocol),
        error: num(row.error),
        pid: numberOrNull(row.pid),
        command: textOrNull(row.command),
      });
      ports.set(id, entry);
    }
  }
  return {
    total: rows.length,
    markers,
    listed: listed.map((row, i) => {
      const found = ports.get(markers[i]!.id);
      return {
        ...markers[i]!,
        detectedAt: num(row.detected_at),
        modelId: numberOrNull(row.model_id),
        ports: found?.ports ?? [],
        morePorts: found ? found.total - found.ports.length : 0,
      };
    }),
  };
}

interface PortKey {
  port: number;
  protocol: string;
  reason: PortReason;
}

/**
 * The ports worth a row: those behind anomalies (worst first), listeners that came or went in
 * the range (rarest first: a listener seen once is the one to look at), then the busiest ports
 * by packets. Each reason has a quota so none crowds out the others; rows a reason leaves unused
 * go to the remaining candidates in the same order.
 */
function heatmapPorts(db: Database, range: ReportRange, sweptRounds: number): PortKey[] {
  const params = rangeParams(range);
  // The ports incidents name (not every port attribution touched): what a person looks at.
  // Each incident lists its ports worst first; taking every incident's first port, then every
  // second one, and so on, gives each incident a row before one incident gets many.
  const anomalyPorts = hasTable(db, "incidents")
    ? db.prepare(
      `SELECT json_extract(p.value, '$.port') AS port, json_extract(p.value, '$.protocol')
         AS protocol, min(p.key) AS rank, max(coalesce(i.peak_score, 0)) AS weight
       FROM incidents i, json_each(i.ports) p
       WHERE i.start_time < :until AND i.end_time >= :since AND protocol IN ('tcp', 'udp')
         AND port IS NOT NULL
       GROUP BY port, protocol ORDER BY rank, weight DESC, port LIMIT :limit`,
    ).all({ ...params, limit: LIMITS.heatmapRows })
    : [];
  // Listeners: LISTEN (TCP), UNCONN (UDP, outside the ephemeral range where clients' sockets
  // look the same), or any port outside it when the listen probe could not tell (NULL).
  const listeners = db.prepare(
    `SELECT rp.port_id AS port, rp.protocol, count(DISTINCT rp.round_id) AS rounds
     FROM rounds_ports rp JOIN rounds r ON r.id = rp.round_id
     WHERE ${IN_RANGE} AND (rp.socket_state = 'LISTEN' OR (
       (rp.socket_state = 'UNCONN' OR rp.socket_state IS NULL)
       AND rp.port_id NOT BETWEEN ${EPHEMERAL_FIRST} AND ${EPHEMERAL_LAST}))
     GROUP BY rp.port_id, rp.protocol HAVING rounds < :swept
     ORDER BY rounds, port LIMIT :limit`,
  ).all({ ...params, swept: sweptRounds, limit: LIMITS.heatmapRows });
  const busiest = db.prepare(
    `SELECT t.port_id AS port, t.protocol, sum(t.packets) AS packets
     FROM round_traffic t JOIN rounds r ON r.id = t.round_id
     WHERE ${IN_RANGE} AND ${TRAFFIC_IN_RANGE} AND t.port_id IS NOT NULL
       AND t.protocol IN ('tcp', 'udp')
     GROUP BY t.port_id, t.protocol ORDER BY packets DESC, port LIMIT :limit`,
  ).all({ ...params, limit: 2 * LIMITS.heatmapRows }); // some are already rows of another reason

  const lists: { reason: PortReason; quota: number; rows: Record<string, unknown>[] }[] = [
    { reason: "anomaly", quota: LIMITS.anomalyPortRows, rows: anomalyPorts },
    { reason: "listener", quota: LIMITS.listenerRows, rows: listeners },
    { reason: "traffic", quota: LIMITS.heatmapRows, rows: busiest },
  ];
  const chosen = new Map<string, PortKey>();
  const take = (reason: PortReason, row: Record<string, unknown>) => {
    const key = `${row.protocol}/${row.port}`;
    if (chosen.has(key) || chosen.size >= LIMITS.heatmapRows) return false;
    chosen.set(key, { port: num(row.port), protocol: String(row.protocol), reason });
    return true;
  };
  const leftovers: [PortReason, Record<string, unknown>][] = [];
  for (const list of lists) {
    let taken = 0;
    for (const row of list.rows) {
      if (taken < list.quota) taken += take(list.reason, row) ? 1 : 0;
      else leftovers.push([list.reason, row]);
    }
  }
  for (const [reason, row] of leftovers) take(reason, row);
  return [...chosen.values()];
}

function heatmapOf(db: Database, range: ReportRange, buckets: Buckets): Heatmap {
  const empty: Heatmap = { ...buckets, rounds: [], captureOff: [], rows: [] };
  if (buckets.columns === 0) return empty;
  const params = bucketParams(range, buckets);
  const rounds = new Array<number>(buckets.columns).fill(0);
  const captureOff = new Array<number>(buckets.columns).fill(0);
  let swept = 0;
  for (
    const row of db.prepare(
      `SELECT ${BUCKET} AS bucket, count(*) AS n, sum(r.sweeps > 0) AS swept,
         sum(r.capture_off IS NOT NULL) AS off
       FROM rounds r WHERE ${IN_RANGE} GROUP BY bucket`,
    ).all(params)
  ) {
    const column = num(row.bucket);
    if (column < buckets.columns) {
      rounds[column] = num(row.n);
      captureOff[column] = num(row.off);
    }
    swept += num(row.swept);
  }
  const keys = heatmapPorts(db, range, swept);
  if (keys.length === 0) return { ...empty, rounds, captureOff };

  const rows = keys.map((k): HeatmapRow => ({
    ...k,
    command: null,
    packets: new Array<number>(buckets.columns).fill(0),
    occupied: new Array<number>(buckets.columns).fill(0),
  }));
  const byKey = new Map(rows.map((row) => [`${row.protocol}/${row.port}`, row]));
  // By port number (a row of the other protocol on the same port matches no key and is
  // skipped). The unary + keeps SQLite off the port indexes: they hold a port's rows of the
  // whole database, while walking the rounds of the range costs what the range holds.
  const ports = [...new Set(keys.map((k) => k.port))];
  const list = ports.map((_, i) => `:p${i}`).join(", ");
  const portParams = Object.fromEntries(ports.map((port, i) => [`p${i}`, port]));
  for (
    const row of db.prepare(
      `SELECT ${BUCKET} AS bucket, t.port_id AS port, t.protocol, sum(t.packets) AS packets
       FROM round_traffic t JOIN rounds r ON r.id = t.round_id
       WHERE +t.port_id IN (${list}) AND ${IN_RANGE} AND ${TRAFFIC_IN_RANGE}
       GROUP BY bucket, t.port_id, t.protocol`,
    ).all({ ...params, ...portParams })
  ) {
    const target = byKey.get(`${row.protocol}/${row.port}`);
    const column = num(row.bucket);
    if (target && column < buckets.columns) target.packets[column] = num(row.packets);
  }
  // One pass for occupancy and owners. SQLite's bare columns: with one max() in the query,
  // `command` comes from the row holding the maximum, the bucket's last owner.
  const lastSeen = new Map<HeatmapRow, number>();
  for (
    const row of db.prepare(
      `SELECT ${BUCKET} AS bucket, rp.port_id AS port, rp.protocol,
         count(DISTINCT rp.round_id) AS rounds, rp.command, max(r.start_time) AS seen
       FROM rounds_ports rp JOIN rounds r ON r.id = rp.round_id
       WHERE +rp.port_id IN (${list}) AND ${IN_RANGE}
       GROUP BY bucket, rp.port_id, rp.protocol`,
    ).all({ ...params, ...portParams })
  ) {
    const target = byKey.get(`${row.protocol}/${row.port}`);
    const column = num(row.bucket);
    if (!target || column >= buckets.columns) continue;
    target.occupied[column] = num(row.rounds);
    if (row.command !== null && num(row.seen) >= (lastSeen.get(target) ?? -Infinity)) {
      target.command = String(row.command);
      lastSeen.set(target, num(row.seen));
    }
  }
  rows.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
  return { ...buckets, rounds, captureOff, rows };
}

function trafficBuckets(db: Database, range: ReportRange, buckets: Buckets): TrafficBucket[] {
  const params = bucketParams(range, buckets);
  const byBucket = new Map<number, TrafficBucket>();
  for (
    const row of db.prepare(
      `SELECT ${BUCKET} AS bucket, count(*) AS rounds,
         sum(coalesce(r.pcap_dropped, 0) + coalesce(r.pcap_if_dropped, 0)) AS dropped,
         sum(r.capture_off IS NOT NULL) AS capture_off
       FROM rounds r WHERE ${IN_RANGE} GROUP BY bucket ORDER BY bucket`,
    ).all(params)
  ) {
    const bucket = num(row.bucket);
    byBucket.set(bucket, {
      bucket,
      rounds: num(row.rounds),
      packetsIn: 0,
      packetsOut: 0,
      dropped: num(row.dropped),
      captureOff: num(row.capture_off),
    });
  }
  for (
    const row of db.prepare(
      `SELECT ${BUCKET} AS bucket,
         sum(CASE WHEN t.direction = 'in' THEN t.packets ELSE 0 END) AS packets_in,
         sum(CASE WHEN t.direction = 'out' THEN t.packets ELSE 0 END) AS packets_out
       FROM round_traffic t JOIN rounds r ON r.id = t.round_id
       WHERE ${IN_RANGE} AND ${TRAFFIC_IN_RANGE} GROUP BY bucket`,
    ).all(params)
  ) {
    const target = byBucket.get(num(row.bucket));
    if (!target) continue;
    target.packetsIn = num(row.packets_in);
    target.packetsOut = num(row.packets_out);
  }
  return [...byBucket.values()];
}

function trafficTotals(
  db: Database,
  range: ReportRange,
  buckets: readonly TrafficBucket[],
): TrafficTotals {
  const params = rangeParams(range);
  const withDrops = db.prepare(
    `SELECT count(*) AS n FROM rounds r
     WHERE ${IN_RANGE} AND coalesce(r.pcap_dropped, 0) + coalesce(r.pcap_if_dropped, 0) > 0`,
  ).get(params)!;
  const reasons = db.prepare(
    `SELECT r.capture_off AS reason, count(*) AS rounds FROM rounds r
     WHERE ${IN_RANGE} AND r.capture_off IS NOT NULL
     GROUP BY r.capture_off ORDER BY rounds DESC, reason LIMIT 5`,
  ).all(params);
  const sum = (key: "packetsIn" | "packetsOut" | "dropped") =>
    buckets.reduce((total, b) => total + b[key], 0);
  return {
    packetsIn: sum("packetsIn"),
    packetsOut: sum("packetsOut"),
    dropped: sum("dropped"),
    roundsWithDrops: num(withDrops.n),
    captureOffReasons: reasons.map((r) => ({ reason: String(r.reason), rounds: num(r.rounds) })),
  };
}

const MODEL_COLUMNS = "id, created, threshold, rounds_trained, trained_until, metrics";

/**
 * The versions that matter to the range: those that scored its rounds, and those that learned
 * from them (their newest round lies in it). Times of rounds, not of fits, tie them to the range,
 * so a history scored long after it was collected still shows its models.
 */
function modelsOf(db: Database, range: ReportRange): ModelEntry[] {
  return db.prepare(
    `SELECT ${MODEL_COLUMNS} FROM models
     WHERE (trained_until >= :since AND trained_until < :until) OR id IN (
       SELECT DISTINCT s.model_id FROM round_scores s JOIN rounds r ON r.id = s.round_id
       WHERE ${IN_RANGE} AND s.model_id IS NOT NULL)
     ORDER BY id`,
  ).all(rangeParams(range)).map(modelEntry);
}

function latestModel(db: Database): ModelEntry | null {
  const row = db.prepare(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY id DESC LIMIT 1`).get();
  return row ? modelEntry(row) : null;
}

function modelEntry(row: Record<string, unknown>): ModelEntry {
  return {
    id: num(row.id),
    created: num(row.created),
    threshold: numberOrNull(row.threshold),
    roundsTrained: num(row.rounds_trained),
    trainedUntil: numberOrNull(row.trained_until),
    fit: fitSummary(textOrNull(row.metrics)),
  };
}

/** The fit of a version from its `metrics` JSON; null when it is absent or not what detect writes. */
export function fitSummary(metrics: string | null): FitSummary | null {
  if (metrics === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(metrics);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const m = parsed as Record<string, unknown>;
  const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : null;
  const epochs = finite(m.epochs);
  if (epochs === null) return null;
  const best = finite(m.bestEpoch) ?? epochs;
  const at = (v: unknown) => Array.isArray(v) ? finite(v[best - 1]) : null;
  return {
    windows: finite(m.windows) ?? 0,
    epochs,
    bestEpoch: best,
    trainLoss: at(m.trainLoss),
    validationLoss: at(m.validationLoss),
    stoppedEarly: m.stoppedEarly === true,
    seconds: finite(m.seconds) ?? 0,
  };
}

/** The incidents the range overlaps, newest first (at most as many as anomalies listed). */
function incidentsOf(db: Database, range: ReportRange): IncidentEntry[] {
  if (!hasTable(db, "incidents")) return [];
  return db.prepare(
    `SELECT id, status, kind, summary, start_time, end_time, rounds, peak_score, ports, peers
     FROM incidents WHERE start_time < :until AND end_time >= :since
     ORDER BY start_time DESC, id DESC LIMIT :limit`,
  ).all({ ...rangeParams(range), limit: LIMITS.listedAnomalies }).map((row) => ({
    id: num(row.id),
    status: String(row.status),
    kind: String(row.kind),
    summary: String(row.summary),
    start: num(row.start_time),
    end: num(row.end_time),
    rounds: num(row.rounds),
    peakScore: numberOrNull(row.peak_score),
    ports: portList(row.ports),
    flowStates: incidentFlows(db, {
      id: num(row.id),
      ports: jsonList(row.ports),
      peers: jsonList(row.peers),
    }, 0).states,
  }));
}

/** An incident's ports (JSON) as `tcp/4445 (ncat)` texts. */
function portList(json: unknown): string[] {
  return jsonList<IncidentPort>(json).map((p) =>
    `${p.protocol}/${p.port ?? "-"}${p.command ? ` (${p.command})` : ""}`
  );
}

/** How many rounds the whole database holds and when, to point an empty report at them. */
export function databaseSpan(db: Database): { rounds: number; first: number; last: number } | null {
  const row = db.prepare(
    "SELECT count(*) AS n, min(start_time) AS first, max(start_time) AS last FROM rounds",
  ).get()!;
  return num(row.n) === 0
    ? null
    : { rounds: num(row.n), first: num(row.first), last: num(row.last) };
}
