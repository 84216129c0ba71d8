/**
 * Scoring of `deno task eval`: from a database pad detect has run on and the episodes made in it,
 * which rounds pad flagged and which the baselines (the original's rule, a new-port rule and its
 * variants) would have flagged on the same rounds; per episode, detected or not and the delay in
 * rounds; false alarms on benign rounds; what reached a person: pad's incidents per episode, and
 * incidents on benign rounds per benign day; the table and the targets.
 *
 * @module
 */
import { DEFAULT_WARMUP_ROUNDS } from "../src/detect/defaults.ts";
import { EPHEMERAL_FIRST } from "../src/round.ts";
import { type Database, openDatabaseReadOnly } from "../src/store/database.ts";
import { type Incident, listIncidents } from "../src/store/incidents.ts";
import type { Episode, LabelledDatabase } from "./labels.ts";

/** The methods compared, in table order. */
export const METHODS = ["pad", "original", "newPort", "newLowPort", "newListener"] as const;
/** A method compared. */
export type Method = typeof METHODS[number];

/** Column headings of the methods. */
export const METHOD_NAMES: Record<Method, string> = {
  pad: "pad",
  original: "original's rule",
  newPort: "new port",
  newLowPort: "new port below 32768",
  newListener: "new listener",
};

/**
 * The original's rule flags one round per batch: detect's steps of 60 rounds, taken in time order
 * as one `pad detect` run takes them.
 */
export const BATCH_ROUNDS = 60;

/** Where Linux takes clients' ports from (`ip_local_port_range`): "new port below" ignores them. */
export const EPHEMERAL_LOW = EPHEMERAL_FIRST;

/** Socket states that mean "a service waits here" (as procfs names them). */
const LISTENING = new Set(["LISTEN", "UNCONN"]);

/** A complete round as the scorer sees it. */
export interface RoundView {
  id: number;
  start: number;
  end: number;
  /** pad's score; null when not scored or scored in warm-up before the model existed. */
  score: number | null;
  /** The threshold the round was judged against; null in warm-up. */
  threshold: number | null;
  /** pad's verdict; null when detect has not scored the round. */
  verdict: "warmup" | "normal" | "anomaly" | null;
}

/** Whether pad judged a round: it was scored with a calibrated threshold (not warm-up). */
export function judged(round: RoundView): boolean {
  return round.verdict === "normal" || round.verdict === "anomaly";
}

/** What one method did on one episode. */
export interface Detection {
  detected: boolean;
  /** Rounds of the episode that passed before the first flagged one (0: its first round). */
  delay: number | null;
  /** Judged rounds of the episode flagged. */
  flagged: number;
}

/** One episode's outcome for every method. */
export interface EpisodeOutcome {
  type: string;
  command: string;
  start: number;
  end: number;
  /** Complete rounds the episode overlaps, and how many of them pad judged. */
  rounds: number;
  judgedRounds: number;
  /** Per method; null when pad judged none of the episode's rounds (nothing to compare). */
  methods: Record<Method, Detection> | null;
  /** pad's highest score on the episode's rounds, with the threshold it was judged against. */
  padPeak: { score: number; threshold: number | null } | null;
  /** The summaries of pad's incidents that overlap the episode or its after-effects. */
  incidents: string[];
  /** A benign change (a hard negative): flagging it is no success. */
  benign: boolean;
  /** Of the incidents, those that opened after a person accepted the earlier ones. */
  afterAccept: string[] | null;
}

/** pad's incidents on benign rounds: alerts a person got for nothing. */
export interface BenignIncidents {
  count: number;
  /** Time the benign judged rounds cover, ms. */
  benignMs: number;
}

/** Counts of one method on benign rounds. */
export interface FalseAlarms {
  flagged: number;
  benign: number;
}

/** One database scored. */
export interface DatabaseOutcome {
  name: string;
  /** Scenario set: the name up to its first colon ("live", "replay alone"). */
  group: string;
  db: string;
  /** Complete rounds, those pad judged, the benign ones among those, the settling ones left out. */
  rounds: number;
  judged: number;
  benign: number;
  excluded: number;
  /** Whether ports were swept (rounds_ports has rows): "new listener" applies only then. */
  swept: boolean;
  episodes: EpisodeOutcome[];
  falseAlarms: Record<Method, FalseAlarms>;
  /** pad's incidents that overlap no episode, and the benign time they were counted in. */
  benignIncidents: BenignIncidents & { summaries: string[] };
  /** What makes the numbers incomplete, one line each (no judged rounds, …). */
  problems: string[];
}

/** Opens `labelled.db` read-only and scores it. */
export function scoreDatabase(labelled: LabelledDatabase): DatabaseOutcome {
  using db = disposable(openDatabaseReadOnly(labelled.db));
  return scoreOpenDatabase(db.db, labelled);
}

/** Scores an open database (see {@linkcode scoreDatabase}). */
export function scoreOpenDatabase(db: Database, labelled: LabelledDatabase): DatabaseOutcome {
  const rounds = loadRoundViews(db);
  const swept = Number(db.prepare("SELECT count(*) AS n FROM rounds_ports").get()!.n) > 0;
  const ports = portKeys(db);
  const flags: Record<Method, Set<number>> = {
    pad: new Set(rounds.filter((r) => r.verdict === "anomaly").map((r) => r.id)),
    original: originalRule(rounds),
    newPort: newKeyRule(rounds, ports),
    newLowPort: newKeyRule(rounds, belowEphemeral(ports)),
    newListener: swept ? newKeyRule(rounds, listenerKeys(db)) : new Set(),
  };
  const incidents = hasIncidents(db) ? listIncidents(db, { limit: 0 }).reverse() : [];
  const episodes = labelled.episodes.map((e) => scoreEpisode(e, rounds, flags, incidents));

  const judgedRounds = rounds.filter(judged);
  const benign = judgedRounds.filter((r) =>
    labelled.episodes.every((e) => !touches(r, e.start, e.settled))
  );
  const count = (m: Method): FalseAlarms => ({
    flagged: benign.filter((r) => flags[m].has(r.id)).length,
    benign: benign.length,
  });
  const falseAlarms = Object.fromEntries(METHODS.map((m) => [m, count(m)])) as Record<
    Method,
    FalseAlarms
  >;
  const inEpisode = judgedRounds.filter((r) =>
    labelled.episodes.some((e) => touches(r, e.start, e.end))
  );
  const strayIncidents = incidents.filter((i) =>
    labelled.episodes.every((e) => !(i.startTime < e.settled && i.endTime > e.start))
  );

  const problems: string[] = [];
  if (judgedRounds.length === 0) {
    const scored = rounds.filter((r) => r.verdict !== null).length;
    problems.push(
      `${labelled.name}: pad judged no rounds (${rounds.length} complete, ${scored} scored): ` +
        `detect judges nothing before its warm-up (${DEFAULT_WARMUP_ROUNDS} rounds); ` +
        `run pad detect on a longer history`,
    );
  }
  for (const e of episodes) {
    if (e.methods === null) {
      problems.push(
        `${labelled.name}: episode "${e.type}" at ${new Date(e.start).toISOString()} has ` +
          `${e.rounds === 0 ? "no rounds" : "no judged rounds (warm-up)"}: not counted`,
      );
    }
  }
  return {
    name: labelled.name,
    group: groupOf(labelled.name),
    db: labelled.db,
    rounds: rounds.length,
    judged: judgedRounds.length,
    benign: benign.length,
    excluded: judgedRounds.length - benign.length - inEpisode.length,
    swept,
    episodes,
    falseAlarms,
    benignIncidents: {
      count: strayIncidents.length,
      benignMs: benign.reduce((ms, r) => ms + (r.end - r.start), 0),
      summaries: strayIncidents.map((i) => i.summary),
    },
    problems,
  };
}

/** Whether detect has made the incidents table (a database of pad before incidents has none). */
function hasIncidents(db: Database): boolean {
  try {
    listIncidents(db, { limit: 1 });
    return true;
  } catch {
    return false;
  }
}

/** The scenario set of a database name: up to its first colon. */
export function groupOf(name: string): string {
  const colon = name.indexOf(":");
  return (colon < 0 ? name : name.slice(0, colon)).trim();
}

/** Complete rounds with pad's verdicts, in time order (detect's order). */
export function loadRoundViews(db: Database): RoundView[] {
  return db.prepare(
    "SELECT r.id, r.start_time, r.end_time, s.score, s.threshold, s.verdict FROM rounds r " +
      "LEFT JOIN round_scores s ON s.round_id = r.id WHERE r.status = 'complete' " +
      "ORDER BY r.start_time, r.id",
  ).all().map((row) => ({
    id: Number(row.id),
    start: Number(row.start_time),
    // A complete round has its end; the fallback keeps a malformed row from spanning nothing.
    end: row.end_time === null ? Number(row.start_time) + 1 : Number(row.end_time),
    score: row.score === null ? null : Number(row.score),
    threshold: row.threshold === null ? null : Number(row.threshold),
    verdict: row.verdict === null ? null : row.verdict as RoundView["verdict"],
  }));
}

/**
 * The original's rule: in every batch of {@linkcode BATCH_ROUNDS} scored rounds (detect's hourly
 * steps), the round with the highest score is an anomaly, whatever the score. Only judged rounds
 * compete, so the rule is compared on exactly pad's rounds; it uses pad's own score as its error,
 * which is kinder to it than the original's model was.
 */
export function originalRule(rounds: readonly RoundView[]): Set<number> {
  const scored = rounds.filter((r) => r.verdict !== null);
  const flagged = new Set<number>();
  for (let i = 0; i < scored.length; i += BATCH_ROUNDS) {
    let best: RoundView | null = null;
    for (const r of scored.slice(i, i + BATCH_ROUNDS)) {
      if (judged(r) && r.score !== null && (best === null || r.score > best.score!)) best = r;
    }
    if (best) flagged.add(best.id);
  }
  return flagged;
}

/**
 * Flags every round with a key (a port, as `keys` names them) that no earlier complete round had;
 * the first round's keys are all new (it is always in warm-up, so never counted).
 */
export function newKeyRule(
  rounds: readonly RoundView[],
  keys: Map<number, Set<string>>,
): Set<number> {
  const seen = new Set<string>();
  const flagged = new Set<number>();
  for (const r of rounds) {
    for (const key of keys.get(r.id) ?? []) {
      if (!seen.has(key)) {
        flagged.add(r.id);
        seen.add(key);
      }
    }
  }
  return flagged;
}

/**
 * "New port": per round, every local TCP/UDP port that was occupied (`rounds_ports`, any socket
 * state) or carried traffic either way (`round_traffic`), as `protocol/port`.
 */
export function portKeys(db: Database): Map<number, Set<string>> {
  return collectKeys(
    db.prepare(
      "SELECT round_id, protocol || '/' || port_id AS key FROM rounds_ports " +
        "UNION SELECT round_id, protocol || '/' || port_id FROM round_traffic " +
        "WHERE port_id IS NOT NULL AND protocol IN ('tcp', 'udp')",
    ).all(),
  );
}

/** The keys of {@linkcode portKeys} whose port is below {@linkcode EPHEMERAL_LOW}. */
export function belowEphemeral(keys: Map<number, Set<string>>): Map<number, Set<string>> {
  const low = (key: string) => Number(key.split("/").pop()) < EPHEMERAL_LOW;
  return new Map([...keys].map(([id, set]) => [id, new Set([...set].filter(low))]));
}

/**
 * "New listener": per round, every listening socket the sweeps found, as
 * `protocol/family/port`: procfs's LISTEN (TCP) and UNCONN (UDP) states, and every port the
 * listen probe found bound (it cannot tell a listener from a client's port).
 */
export function listenerKeys(db: Database): Map<number, Set<string>> {
  const rows = db.prepare(
    "SELECT round_id, protocol || '/' || family || '/' || port_id AS key, socket_state " +
      "FROM rounds_ports",
  ).all().filter((r) => r.socket_state === null || LISTENING.has(String(r.socket_state)));
  return collectKeys(rows);
}

function collectKeys(rows: Record<string, unknown>[]): Map<number, Set<string>> {
  const keys = new Map<number, Set<string>>();
  for (const row of rows) {
    const id = Number(row.round_id);
    let set = keys.get(id);
    if (!set) keys.set(id, set = new Set());
    set.add(String(row.key));
  }
  return keys;
}

/** Whether a round's span [start, end) overlaps [from, to). */
function touches(round: RoundView, from: number, to: number): boolean {
  return round.start < to && round.end > from;
}

function scoreEpisode(
  episode: Episode,
  rounds: readonly RoundView[],
  flags: Record<Method, Set<number>>,
  incidents: readonly Incident[],
): EpisodeOutcome {
  const own = rounds.filter((r) => touches(r, episode.start, episode.end));
  const judgedOwn = own.filter(judged);
  const ownIncidents = incidents.filter((i) =>
    i.startTime < episode.settled && i.endTime > episode.start
  );
  const peak = judgedOwn.reduce<RoundView | null>(
    (best, r) => r.score !== null && (best === null || r.score > best.score!) ? r : best,
    null,
  );
  const base = {
    type: episode.type,
    command: episode.command,
    start: episode.start,
    end: episode.end,
    rounds: own.length,
    judgedRounds: judgedOwn.length,
    padPeak: peak ? { score: peak.score!, threshold: peak.threshold } : null,
    incidents: ownIncidents.map((i) => i.summary),
    benign: episode.benign ?? false,
    afterAccept: episode.acceptedAt === undefined
      ? null
      : ownIncidents.filter((i) => i.startTime >= episode.acceptedAt!).map((i) => i.summary),
  };
  if (judgedOwn.length === 0) return { ...base, methods: null };
  const methods = Object.fromEntries(METHODS.map((m) => {
    // The delay counts every round of the episode, judged or not: a round in warm-up passed.
    const first = own.findIndex((r) => judged(r) && flags[m].has(r.id));
    const flagged = judgedOwn.filter((r) => flags[m].has(r.id)).length;
    return [m, { detected: first >= 0, delay: first >= 0 ? first : null, flagged }];
  })) as Record<Method, Detection>;
  return { ...base, methods };
}

/** node:sqlite's database closed by `using`. */
function disposable(db: Database): { db: Database } & Disposable {
  return { db, [Symbol.dispose]: () => db.close() };
}

/** One row of the results table: an anomaly type in a scenario set. */
export interface SummaryRow {
  group: string;
  type: string;
  /** Episodes pad judged rounds of (the others are listed as problems). */
  episodes: number;
  detected: Record<Method, number>;
  /** Delays of the detected episodes, in rounds. */
  delays: Record<Method, number[]>;
  /** pad's incidents per judged episode. */
  incidents: number[];
  /** Benign changes (hard negatives): their rounds flagged, not detections. */
  benign: boolean;
  /** Per judged episode a person answered: incidents opened after the accept. */
  afterAccept: number[];
  /** Per method, judged rounds and flagged ones over the row's episodes. */
  judgedRounds: number;
  flaggedRounds: Record<Method, number>;
}

/** All databases summed up: the table's rows and false alarms per scenario set and overall. */
export interface Summary {
  rows: SummaryRow[];
  falseAlarms: {
    group: string;
    counts: Record<Method, FalseAlarms>;
    incidents: BenignIncidents;
  }[];
  /** Whether any database was swept ("new listener" is shown only then). */
  swept: boolean;
  problems: string[];
}

/** Sums the databases' outcomes per anomaly type and scenario set. */
export function summarize(outcomes: readonly DatabaseOutcome[]): Summary {
  const rows = new Map<string, SummaryRow>();
  const groups = new Map<string, Record<Method, FalseAlarms>>();
  const zero = () =>
    Object.fromEntries(METHODS.map((m) => [m, { flagged: 0, benign: 0 }])) as Record<
      Method,
      FalseAlarms
    >;
  const total = zero();
  const stray = new Map<string, BenignIncidents>();
  const allStray: BenignIncidents = { count: 0, benignMs: 0 };
  for (const o of outcomes) {
    for (const e of o.episodes) {
      const key = `${o.group}\u0000${e.type}`;
      let row = rows.get(key);
      if (!row) {
        row = {
          group: o.group,
          type: e.type,
          episodes: 0,
          detected: Object.fromEntries(METHODS.map((m) => [m, 0])) as Record<Method, number>,
          delays: Object.fromEntries(METHODS.map((m) => [m, []])) as unknown as Record<
            Method,
            number[]
          >,
          incidents: [],
          benign: e.benign,
          afterAccept: [],
          judgedRounds: 0,
          flaggedRounds: Object.fromEntries(METHODS.map((m) => [m, 0])) as Record<Method, number>,
        };
        rows.set(key, row);
      }
      if (e.methods === null) continue;
      row.episodes++;
      row.incidents.push(e.incidents.length);
      if (e.afterAccept) row.afterAccept.push(e.afterAccept.length);
      row.judgedRounds += e.judgedRounds;
      for (const m of METHODS) {
        row.flaggedRounds[m] += e.methods[m].flagged;
        if (e.methods[m].detected) {
          row.detected[m]++;
          row.delays[m].push(e.methods[m].delay!);
        }
      }
    }
    let counts = groups.get(o.group);
    if (!counts) groups.set(o.group, counts = zero());
    const incidents = stray.get(o.group) ?? { count: 0, benignMs: 0 };
    stray.set(o.group, {
      count: incidents.count + o.benignIncidents.count,
      benignMs: incidents.benignMs + o.benignIncidents.benignMs,
    });
    allStray.count += o.benignIncidents.count;
    allStray.benignMs += o.benignIncidents.benignMs;
    for (const m of METHODS) {
      counts[m].flagged += o.falseAlarms[m].flagged;
      counts[m].benign += o.falseAlarms[m].benign;
      total[m].flagged += o.falseAlarms[m].flagged;
      total[m].benign += o.falseAlarms[m].benign;
    }
  }
  const falseAlarms = [...groups].map(([group, counts]) => ({
    group,
    counts,
    incidents: stray.get(group)!,
  }));
  if (groups.size > 1) falseAlarms.push({ group: "all", counts: total, incidents: allStray });
  return {
    rows: [...rows.values()],
    falseAlarms,
    swept: outcomes.some((o) => o.swept),
    problems: outcomes.flatMap((o) => o.problems),
  };
}

/** Incidents on benign rounds per day of benign rounds; null without benign rounds. */
export function perBenignDay(incidents: BenignIncidents): number | null {
  return incidents.benignMs === 0 ? null : incidents.count / (incidents.benignMs / 86_400_000);
}

/** False alarms per 1,000 benign rounds; null when there were no benign rounds to count on. */
export function perThousand(counts: FalseAlarms): number | null {
  return counts.benign === 0 ? null : (1000 * counts.flagged) / counts.benign;
}

/** The methods a table shows: "new listener" only where ports were swept. */
export function shownMethods(summary: Summary): Method[] {
  return METHODS.filter((m) => m !== "newListener" || summary.swept);
}

/** The results as one Markdown table (anomaly rows, then false-alarm rows). */
export function markdownTable(summary: Summary): string {
  const methods = shownMethods(summary);
  const lines = [
    `| scenarios | anomaly | episodes | pad incidents | ${
      methods.map((m) => METHOD_NAMES[m]).join(" | ")
    } |`,
    `| --- | --- | ---: | --- | ${methods.map(() => "---").join(" | ")} |`,
  ];
  for (const row of summary.rows) {
    const cells = methods.map((m) =>
      row.benign
        ? benignCell(row.episodes, row.flaggedRounds[m], row.judgedRounds)
        : detectionCell(row.episodes, row.detected[m], row.delays[m])
    );
    lines.push(
      `| ${row.group} | ${row.type} | ${row.episodes} | ${incidentCell(row)} | ${
        cells.join(" | ")
      } |`,
    );
  }
  for (const { group, counts, incidents } of summary.falseAlarms) {
    const cells = methods.map((m) => falseAlarmCell(counts[m]));
    lines.push(
      `| ${group} | false alarms per 1,000 benign rounds | | ${benignIncidentCell(incidents)} | ${
        cells.join(" | ")
      } |`,
    );
  }
  return lines.join("\n") + "\n";
}

function detectionCell(episodes: number, detected: number, delays: number[]): string {
  if (episodes === 0) return "not judged";
  if (episodes === 1) return detected ? `detected, delay ${delays[0]}` : "missed";
  const delay = delays.length === 0
    ? ""
    : delays.length <= 5
    ? `, delays ${delays.join(", ")}`
    : `, delay median ${median(delays)}, max ${Math.max(...delays)}`;
  return `${detected}/${episodes} detected${delay}`;
}

/** Incidents per episode: "1", or "1, 1, 2" for several; "2, none after the accept". */
function incidentCell(row: SummaryRow): string {
  if (row.incidents.length === 0) return "–";
  const after = row.afterAccept.length === 0
    ? ""
    : row.afterAccept.every((n) => n === 0)
    ? ", none after the accept"
    : `, ${row.afterAccept.join(", ")} after the accept`;
  return row.incidents.join(", ") + after;
}

/** A benign change's rounds a method flagged: "3 of 420 rounds flagged". */
function benignCell(episodes: number, flagged: number, judgedRounds: number): string {
  if (episodes === 0) return "not judged";
  return `${thousands(flagged)} of ${thousands(judgedRounds)} rounds flagged`;
}

/** Incidents on benign rounds: "0.0 per day (0 in 5.3 h)". */
function benignIncidentCell(incidents: BenignIncidents): string {
  const rate = perBenignDay(incidents);
  if (rate === null) return "–";
  return `${rate.toFixed(1)} per day (${thousands(incidents.count)} in ${
    (incidents.benignMs / 3_600_000).toFixed(1)
  } h)`;
}

function falseAlarmCell(counts: FalseAlarms): string {
  const rate = perThousand(counts);
  if (rate === null) return "no benign rounds judged";
  return `${rate.toFixed(1)} (${thousands(counts.flagged)} of ${thousands(counts.benign)})`;
}

/**
 * Whether pad met the issue's targets, one line each: every anomaly type detected in its first
 * round; at most 1 false alarm per 1,000 benign rounds; better than each baseline, meaning a
 * higher share of episodes detected minus share of benign rounds flagged (Youden's J), so that
 * neither a rule that flags every round nor one that flags none can win.
 */
export function targets(summary: Summary): string[] {
  const rows = summary.rows.filter((r) => r.episodes > 0 && !r.benign);
  const benign = summary.rows.filter((r) => r.episodes > 0 && r.benign);
  const all = summary.falseAlarms[summary.falseAlarms.length - 1]?.counts;
  const rate = (m: Method) => all ? perThousand(all[m]) : null;
  // A benign change that joins for good: issue "Incidents…" allows two incidents, then none.
  const benignLines = benign.map((row) => {
    const few = row.incidents.every((n) => n <= 2) && row.afterAccept.every((n) => n === 0);
    return `${few ? "met" : "NOT met"}: ${row.group}: ${row.type}: at most 2 incidents, and ` +
      `none after the accept (${incidentCell(row)})`;
  });
  if (rows.length === 0 || rate("pad") === null) {
    return [
      "not known: no episode or no benign round was judged by pad (see below)",
      ...benignLines,
    ];
  }
  const late = rows.filter((r) => r.detected.pad < r.episodes || r.delays.pad.some((d) => d > 0));
  const lines = [
    late.length === 0
      ? `met: every anomaly type detected in its first round (${rows.length} rows)`
      : `NOT met: every anomaly type detected in its first round; not so for ${
        late.map((r) => `${r.group}: ${r.type}`).join("; ")
      }`,
  ];
  const pad = all!.pad;
  lines.push(
    `${rate("pad")! <= 1 ? "met" : "NOT met"}: at most 1 false alarm per 1,000 benign rounds ` +
      `(pad: ${rate("pad")!.toFixed(2)}, ${thousands(pad.flagged)} of ${thousands(pad.benign)}` +
      `${pad.benign < 1000 ? "; too few benign rounds to tell" : ""})`,
  );
  const notOne = rows.filter((r) => r.incidents.some((n) => n !== 1));
  lines.push(
    notOne.length === 0
      ? `met: every episode reached a person as exactly one incident`
      : `NOT met: every episode one incident; not so for ${
        notOne.map((r) => `${r.group}: ${r.type} (${r.incidents.join(", ")})`).join("; ")
      }`,
  );
  lines.push(...benignLines);
  const stray = summary.falseAlarms[summary.falseAlarms.length - 1]!.incidents;
  const perDay = perBenignDay(stray);
  if (perDay !== null) {
    lines.push(
      `${perDay <= 1 ? "met" : "NOT met"}: at most 1 incident per day of benign rounds ` +
        `(${perDay.toFixed(2)}: ${thousands(stray.count)} in ${
          (stray.benignMs / 3_600_000).toFixed(1)
        } h)`,
    );
  }
  const episodes = rows.reduce((n, r) => n + r.episodes, 0);
  const figures = (m: Method) => {
    const hits = rows.reduce((n, r) => n + r.detected[m], 0);
    const first = rows.reduce((n, r) => n + r.delays[m].filter((d) => d === 0).length, 0);
    // Youden's J: the share of episodes detected minus the share of benign rounds flagged.
    return { hits, first, rate: rate(m)!, j: hits / episodes - rate(m)! / 1000 };
  };
  const p = figures("pad");
  for (const baseline of shownMethods(summary).filter((m) => m !== "pad")) {
    const b = figures(baseline);
    lines.push(
      `${p.j > b.j ? "met" : "NOT met"}: better than ${METHOD_NAMES[baseline]}: detected ` +
        `${p.hits} vs ${b.hits} of ${episodes} (in their first round ${p.first} vs ${b.first}), ` +
        `false alarms per 1,000 ${p.rate.toFixed(2)} vs ${b.rate.toFixed(2)}; detected share ` +
        `minus false-alarm share ${p.j.toFixed(3)} vs ${b.j.toFixed(3)}`,
    );
  }
  return lines;
}

/** A count with thousands separators, as the table writes it. */
export function thousands(n: number): string {
  return n.toLocaleString("en-US");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
