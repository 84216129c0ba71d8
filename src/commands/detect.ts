/**
 * `pad detect`: scores the rounds collected since the last run, groups what is anomalous into
 * incidents and tells them, and learns from the rest. Its flags are defined in src/cli/detect.ts,
 * which loads this module when it runs.
 *
 * @module
 */
import config from "../../deno.json" with { type: "json" };
import type { DetectFlags } from "../cli/detect.ts";
import type { CommandContext } from "../cli/shared.ts";
import {
  closeQuiet,
  type FlaggedRecord,
  type IgnoreRules,
  type IncidentPolicy,
  NO_IGNORE_RULES,
  recordIncidents,
} from "../detect/incidents.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { tellIncidents } from "../fleet/deliveries.ts";
import { incidentJson, incidentLine, type IncidentSource } from "../fleet/incident_message.ts";
import { alertmanagerUrl, type Target } from "../fleet/notify.ts";
import { checkPrometheusFile, writePrometheusFile } from "../fleet/prometheus.ts";
import { logger } from "../log.ts";
import { LocalNetworks, parseNetwork } from "../net/networks.ts";
import { isoString } from "../time.ts";
import type { Output } from "../output.ts";
import { checkIntact, openExistingDatabase } from "../store/database.ts";
import { type RoundScore, storeScores } from "../store/detections.ts";
import { type Incident, incidentById } from "../store/incidents.ts";
import {
  listenersBefore,
  loadRounds,
  precedingRounds,
  type RoundRef,
  roundsBefore,
  roundsToScore,
  sweptBefore,
  unlearnedRounds,
} from "../store/history.ts";
import { lockRole } from "../store/lock.ts";
import type { Database } from "../store/database.ts";
import { listenerKey } from "../detect/new_listeners.ts";
import { progress } from "../progress.ts";
import { DEFAULT_QUIET_SPELL_MS } from "../detect/defaults.ts";
// A type only: the module itself, which loads TensorFlow.js, is imported when needed.
import type { ListenerMemory } from "../detect/model_state.ts";

/**
 * `pad detect` as the command line runs it: alerts and ignore rules from its flags, the
 * Prometheus file refreshed, and exit 3 with `--exit-code` when an incident opened.
 */
export async function detectAction(opts: DetectFlags, context: CommandContext): Promise<void> {
  const db = context.db();
  if (opts.prometheus) checkPrometheusFile(db, opts.prometheus);
  const result = await runDetect({
    db,
    warmup: opts.warmup,
    seed: opts.seed,
    rescore: opts.rescore ?? false,
    maxEpochs: opts.maxEpochs,
    format: opts.format,
    quiet: context.quiet(),
    quietSpellMs: opts.quietSpell,
    targets: targetsOf(opts),
    ignore: ignoreRulesOf(opts),
  }, context.stdout);
  if (opts.prometheus) writePrometheusFile(db, opts.prometheus);
  if (opts.exitCode && result.opened.length > 0) context.setStatus(ExitCode.Anomalies);
}

/** The alert targets the flags name. */
function targetsOf(opts: {
  alertmanager?: string[];
  onIncident?: string;
  syslog?: string | true;
}): Target[] {
  const targets: Target[] = [];
  for (const url of opts.alertmanager ?? []) {
    targets.push({ kind: "alertmanager", url: alertmanagerUrl(url) });
  }
  if (opts.onIncident !== undefined) {
    if (opts.onIncident.trim() === "") {
      throw new UsageError(`Invalid --on-incident "": give a command`);
    }
    targets.push({ kind: "hook", command: opts.onIncident });
  }
  if (opts.syslog !== undefined) {
    targets.push({ kind: "syslog", socket: opts.syslog === true ? "/dev/log" : opts.syslog });
  }
  return targets;
}

/** The ignore rules the flags give. */
function ignoreRulesOf(opts: {
  ignorePort?: string[];
  ignoreProcess?: string[];
  ignoreNetwork?: string[];
}): IgnoreRules {
  for (const port of opts.ignorePort ?? []) {
    const match = /^(tcp|udp)\/(\d{1,5})$/.exec(port);
    if (!match || Number(match[2]) > 65_535) {
      throw new UsageError(`Invalid --ignore-port "${port}": use PROTOCOL/PORT, e.g. tcp/4445`);
    }
  }
  const networks = opts.ignoreNetwork ?? [];
  for (const net of networks) parseNetwork(net);
  return {
    ports: opts.ignorePort ?? [],
    processes: opts.ignoreProcess ?? [],
    networks: networks.length > 0 ? new LocalNetworks(networks, false) : null,
  };
}

/** Options of `pad detect`. */
export interface DetectOptions {
  db: string;
  /** Rounds of history before anything is flagged; they are learned from meanwhile. */
  warmup: number;
  /** Seeds a new model (initial weights, dropout, shuffling): the same seed, the same scores. */
  seed: number;
  /** Score every complete round again with the current model (and learn nothing new). */
  rescore: boolean;
  /** Most epochs per refit (early stopping usually ends sooner). */
  maxEpochs: number;
  /** JSON lines instead of text. */
  format: "text" | "json";
  /** Only the incidents opened (and JSON, when asked): no summary line. */
  quiet?: boolean;
  /** A quiet spell this long closes an incident (default 30 min). */
  quietSpellMs?: number;
  /** Where incidents are told besides stdout. */
  targets?: Target[];
  ignore?: IgnoreRules;
}

/** What a detect run did. */
export interface DetectResult {
  scored: number;
  warmup: number;
  /** Rounds their capture covered only in part: rules applied, the model did not judge them. */
  partial: number;
  /** Rounds of history still needed before the model judges (rules flag meanwhile). */
  warmupLeft: number;
  anomalies: Anomaly[];
  /** Model version after the run; null while no model was trained. */
  modelVersion: number | null;
  threshold: number | null;
  /** Incidents this run opened, and those it closed after a quiet spell. */
  opened: Incident[];
  closed: Incident[];
}

/** A flagged round, as reported. */
export interface Anomaly extends RoundScore {
  startTime: number;
  /** The model version that scored it. */
  modelVersion: number | null;
}

/** Rounds scored, then learned from, per step: an hour of minute rounds, as cron runs detect. */
const ROUNDS_PER_STEP = 60;

const log = logger("detect");

/**
 * Scores every complete round not yet scored, in time order, an hour at a time: each hour is
 * scored by the model as it stood, stored, and then its normal rounds are learned from (flagged
 * ones never are), and the new model version is saved in one transaction.
 */
export async function runDetect(options: DetectOptions, out: Output): Promise<DetectResult> {
  using db = openExistingDatabase(options.db);
  using _lock = lockRole(options.db, "detect");
  // Learning from a damaged file would spread it into the model: stop and say what to do.
  checkIntact(db, options.db);
  const policy: IncidentPolicy = {
    quietSpellMs: options.quietSpellMs ?? DEFAULT_QUIET_SPELL_MS,
    ignore: options.ignore ?? NO_IGNORE_RULES,
  };
  const todo = roundsToScore(db, options.rescore);
  const unlearned = options.rescore ? [] : unlearnedRounds(db);
  const result: DetectResult = {
    scored: 0,
    warmup: 0,
    partial: 0,
    anomalies: [],
    modelVersion: null,
    threshold: null,
    opened: [],
    closed: [],
    warmupLeft: 0,
  };
  if (todo.length > 0 || unlearned.length > 0) {
    await scoreAndLearn(db, todo, unlearned, options, policy, result);
  }
  result.warmupLeft = Math.max(0, options.warmup - roundsBefore(db, Number.MAX_SAFE_INTEGER));
  // As they stand at the end of the run: later hours may have added rounds to them.
  result.opened = result.opened.map((i) => incidentById(db, i.id) ?? i);
  const source: IncidentSource = {
    host: hostName(),
    padVersion: config.version,
  };
  await tellIncidents(db, options.targets ?? [], result.opened, source, Date.now());
  report(result, options, source, out);
  return result;
}

/** The hours to learn that a killed run left, then the new rounds, an hour at a time. */
async function scoreAndLearn(
  db: Database,
  todo: RoundRef[],
  unlearned: RoundRef[],
  options: DetectOptions,
  policy: IncidentPolicy,
  result: DetectResult,
): Promise<void> {
  // TensorFlow.js is loaded here only, so collect, prune and inspect start fast.
  const { ModelState } = await import("../detect/model_state.ts");
  using model = await ModelState.open(db, {
    seed: options.seed,
    keepVerdicts: options.rescore,
    warn: (message) => log.warn(message),
  });
  if (unlearned.length > 0) {
    log.info(
      "Learning {n} not learned yet (accepted incidents, or an earlier detect that stopped before learning)",
      { n: plural(unlearned.length, "round") },
    );
  }
  for (let start = 0; start < unlearned.length; start += ROUNDS_PER_STEP) {
    const step = unlearned.slice(start, start + ROUNDS_PER_STEP);
    await model.catchUp(db, step, { maxEpochs: options.maxEpochs });
  }
  // Listeners the host had before the first round to score; judge adds each round's.
  const first = todo[0]?.startTime ?? 0;
  const listeners: ListenerMemory = {
    known: new Set(listenersBefore(db, first).map(listenerKey).filter((k) => k !== null)),
    swept: sweptBefore(db, first),
  };
  using shown = progress("pad detect", "rounds", todo.length, options.quiet ?? false);
  for (const step of steps(todo, model.trained ? null : roundsBefore(db, first), options.warmup)) {
    const context = precedingRounds(db, step[0]!.startTime, model.window - 1);
    const rounds = loadRounds(db, step.map((r) => r.id));
    const history = roundsBefore(db, step[0]!.startTime);
    const scores = model.judge(context, rounds, history, options.warmup, listeners);
    const now = Date.now();
    const anomalyIds = storeScores(db, model.version, now, scores);
    result.scored += scores.length;
    result.warmup += scores.filter((s) => s.verdict === "warmup").length;
    result.partial += scores.filter((s) => s.verdict === "partial").length;
    const byId = new Map(rounds.map((r) => [r.id, r]));
    const flagged: FlaggedRecord[] = [];
    for (const s of scores) {
      const round = byId.get(s.roundId)!;
      const anomalyId = anomalyIds.get(s.roundId);
      if (s.verdict !== "anomaly" || anomalyId === undefined) continue;
      result.anomalies.push({ ...s, startTime: round.startTime, modelVersion: model.version });
      flagged.push({
        roundId: s.roundId,
        anomalyId,
        startTime: round.startTime,
        endTime: round.endTime ?? round.startTime,
        score: s.score,
        modelVersion: model.version,
        cause: s.cause!,
      });
    }
    // A rescore tells nobody: its verdicts replace earlier ones, the incidents stay as they are.
    if (!options.rescore) {
      result.opened.push(...recordIncidents(db, flagged, policy, now));
      result.closed.push(...closeQuiet(db, step[step.length - 1]!.startTime, policy, now));
    }
    result.modelVersion = model.version;
    result.threshold = model.threshold;
    if (options.rescore) continue;
    await model.learn(db, step, { maxEpochs: options.maxEpochs });
    log.debug("Model version {version} learned from the hour up to round {round}", {
      version: model.version,
      round: step[step.length - 1]!.id,
    });
    shown.update(result.scored, `model v${model.version}`);
  }
  result.modelVersion = model.version;
  result.threshold = model.threshold;
}

/**
 * The hours detect scores and learns, in order. A model not trained yet (`history` rounds
 * before the first to score; null for a trained one) learns first from the rounds that take
 * the history to `warmup` (at least 10), so it judges from there on rather than an hour later.
 */
function steps(todo: RoundRef[], history: number | null, warmup: number): RoundRef[][] {
  const result: RoundRef[][] = [];
  let start = 0;
  if (history !== null && history < warmup) {
    start = Math.min(todo.length, Math.max(MIN_FIRST_STEP, warmup - history));
    result.push(todo.slice(0, start));
  }
  for (; start < todo.length; start += ROUNDS_PER_STEP) {
    result.push(todo.slice(start, start + ROUNDS_PER_STEP));
  }
  return result.filter((s) => s.length > 0);
}

/** Rounds a first model learns from at least. */
const MIN_FIRST_STEP = 10;

function hostName(): string | null {
  try {
    return Deno.hostname();
  } catch {
    return null;
  }
}

/**
 * Text: the incidents opened, one line each (even with `--quiet`: cron mails them), then a
 * summary line. JSON lines: every anomaly, every incident opened or closed, then a summary.
 */
function report(
  result: DetectResult,
  options: DetectOptions,
  source: IncidentSource,
  out: Output,
): void {
  if (options.format === "json") {
    const about = { host: source.host, pad_version: source.padVersion };
    for (const a of result.anomalies) {
      out.write(
        JSON.stringify({
          type: "anomaly",
          round_id: a.roundId,
          start_time: isoString(a.startTime),
          score: a.score,
          threshold: a.threshold,
          reason: a.reason ?? "score",
          summary: a.cause?.summary ?? null,
          model_version: a.modelVersion,
          ports: a.ports ?? [],
          ...about,
        }) + "\n",
      );
    }
    for (const incident of result.opened) {
      out.write(JSON.stringify(incidentJson(incident, "opened", source)) + "\n");
    }
    for (const incident of result.closed) {
      out.write(JSON.stringify(incidentJson(incident, "resolved", source)) + "\n");
    }
    out.write(
      JSON.stringify({
        type: "summary",
        scored: result.scored,
        warmup: result.warmup,
        partial: result.partial,
        anomalies: result.anomalies.length,
        incidents_opened: result.opened.length,
        incidents_closed: result.closed.length,
        model_version: result.modelVersion,
        threshold: result.threshold,
        ...about,
      }) + "\n",
    );
    return;
  }
  for (const incident of result.opened) {
    out.write(incidentLine(incident, "opened", source.host) + "\n");
  }
  if (options.quiet) return;
  if (result.scored === 0) {
    out.write("No new rounds to score\n");
    return;
  }
  const left = result.warmupLeft > 0
    ? `; the model judges after ${plural(result.warmupLeft, "more round")}`
    : "";
  const warm = (result.warmup > 0 ? `, ${result.warmup} in warm-up (learned from${left})` : "") +
    (result.partial > 0 ? `, ${result.partial} partial (captured in part)` : "");
  const threshold = result.threshold === null
    ? "not calibrated yet"
    : result.threshold.toPrecision(4);
  const flagged = result.anomalies.length === 0
    ? "nothing flagged"
    : `${plural(result.anomalies.length, "round")} flagged, ${
      plural(result.opened.length, "incident")
    } opened`;
  const closed = result.closed.length > 0
    ? `, ${plural(result.closed.length, "incident")} closed`
    : "";
  out.write(
    `Scored ${plural(result.scored, "round")}${warm}: ${flagged}${closed} ` +
      `(model v${result.modelVersion}, threshold ${threshold})\n`,
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
