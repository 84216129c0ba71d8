import { Command, Option } from "@commander-js/extra-typings";
import { type CommandContext, examples, flag, prometheusOption } from "../cli.ts";
import { ExitCode } from "../errors.ts";
import { checkPrometheusFile, writePrometheusFile } from "../fleet/prometheus.ts";
import { logger } from "../log.ts";
import { parseCount } from "../parse.ts";
import { printable } from "../text.ts";
import { isoString } from "../time.ts";
import type { Output } from "../output.ts";
import { checkIntact, openDatabase } from "../store/database.ts";
import { type RoundScore, storeScores } from "../store/detections.ts";
import {
  listenersBefore,
  loadRounds,
  precedingRounds,
  roundsBefore,
  roundsToScore,
  unlearnedRounds,
} from "../store/history.ts";
import { lockRole } from "../store/lock.ts";
import { listenerKey } from "../detect/new_listeners.ts";

/** `pad detect`: its flags, help and action. */
export function detectCommand(context: CommandContext) {
  return new Command("detect")
    .description("score new rounds with the model, store anomalies, learn from normal rounds")
    .option(
      "--warmup <rounds>",
      "rounds of history learned from before anything is flagged",
      flag(parseCount, "--warmup"),
      60,
    )
    .option(
      "--seed <n>",
      "seed of a new model: same seed, same scores",
      flag(parseCount, "--seed"),
      1,
    )
    .option("--rescore", "score every complete round again with the current model")
    .option(
      "--max-epochs <n>",
      "most epochs per refit (early stopping usually ends sooner)",
      flag((t, w) => parseCount(t, w, 1), "--max-epochs"),
      20,
    )
    .addOption(
      new Option("--format <format>", "report format").choices(["text", "json"] as const).default(
        "text" as const,
      ),
    )
    .option("--exit-code", `exit ${ExitCode.Anomalies} when anomalies were stored`)
    .addOption(prometheusOption())
    .addHelpText(
      "after",
      examples([
        ["pad detect", "score the rounds collected since the last run, as cron runs it hourly"],
        ["pad detect --format json | jq -c 'select(.type == \"anomaly\")'", "for log shippers"],
        ["pad detect --rescore", "score every round again with the current model"],
      ]),
    )
    .action(async (opts) => {
      const db = context.db();
      if (opts.prometheus) checkPrometheusFile(db, opts.prometheus);
      const result = await runDetect({
        db,
        warmup: opts.warmup,
        seed: opts.seed,
        rescore: opts.rescore ?? false,
        maxEpochs: opts.maxEpochs,
        format: opts.format,
      }, opts.format === "json" ? context.stdout : context.summary());
      if (opts.prometheus) writePrometheusFile(db, opts.prometheus);
      if (opts.exitCode && result.anomalies.length > 0) context.setStatus(ExitCode.Anomalies);
    });
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
}

/** What a detect run did. */
export interface DetectResult {
  scored: number;
  warmup: number;
  anomalies: Anomaly[];
  /** Model version after the run; null while no model was trained. */
  modelVersion: number | null;
  threshold: number | null;
}

/** A flagged round, as reported. */
export interface Anomaly extends RoundScore {
  startTime: number;
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
  using db = openDatabase(options.db);
  using _lock = lockRole(options.db, "detect");
  // Learning from a damaged file would spread it into the model: stop and say what to do.
  checkIntact(db, options.db);
  const todo = roundsToScore(db, options.rescore);
  const unlearned = options.rescore ? [] : unlearnedRounds(db);
  const result: DetectResult = {
    scored: 0,
    warmup: 0,
    anomalies: [],
    modelVersion: null,
    threshold: null,
  };
  if (todo.length === 0 && unlearned.length === 0) {
    report(result, options, out);
    return result;
  }
  // TensorFlow.js is loaded here only, so collect, prune and inspect start fast.
  const { ModelState } = await import("../detect/model_state.ts");
  using model = await ModelState.open(db, {
    seed: options.seed,
    keepVerdicts: options.rescore,
    warn: (message) => log.warn(message),
  });
  if (unlearned.length > 0) {
    log.info("Learning {n} rounds an earlier detect scored but stopped before learning", {
      n: unlearned.length,
    });
  }
  for (let start = 0; start < unlearned.length; start += ROUNDS_PER_STEP) {
    const step = unlearned.slice(start, start + ROUNDS_PER_STEP);
    await model.catchUp(db, step, { maxEpochs: options.maxEpochs });
  }
  // Listeners the host had before the first round to score; judge adds each round's.
  const knownListeners = new Set(
    listenersBefore(db, todo[0]!.startTime).map(listenerKey).filter((k) => k !== null),
  );
  for (let start = 0; start < todo.length; start += ROUNDS_PER_STEP) {
    const step = todo.slice(start, start + ROUNDS_PER_STEP);
    const context = precedingRounds(db, step[0]!.startTime, model.window - 1);
    const rounds = loadRounds(db, step.map((r) => r.id));
    const history = roundsBefore(db, step[0]!.startTime);
    const scores = model.judge(context, rounds, history, options.warmup, knownListeners);
    storeScores(db, model.version, Date.now(), scores);
    result.scored += scores.length;
    result.warmup += scores.filter((s) => s.verdict === "warmup").length;
    for (const s of scores) {
      if (s.verdict === "anomaly") {
        result.anomalies.push({
          ...s,
          startTime: rounds.find((r) => r.id === s.roundId)!.startTime,
        });
      }
    }
    if (options.rescore) continue;
    await model.learn(db, step, { maxEpochs: options.maxEpochs });
    log.debug("Model version {version} learned from the hour up to round {round}", {
      version: model.version,
      round: step[step.length - 1]!.id,
    });
  }
  result.modelVersion = model.version;
  result.threshold = model.threshold;
  report(result, options, out);
  return result;
}

function report(result: DetectResult, options: DetectOptions, out: Output): void {
  if (options.format === "json") {
    for (const a of result.anomalies) {
      out.write(
        JSON.stringify({
          type: "anomaly",
          round_id: a.roundId,
          start_time: isoString(a.startTime),
          score: a.score,
          threshold: a.threshold,
          reason: a.reason ?? "score",
          model_version: result.modelVersion,
          ports: a.ports ?? [],
        }) + "\n",
      );
    }
    out.write(
      JSON.stringify({
        type: "summary",
        scored: result.scored,
        warmup: result.warmup,
        anomalies: result.anomalies.length,
        model_version: result.modelVersion,
        threshold: result.threshold,
      }) + "\n",
    );
    return;
  }
  if (result.scored === 0) {
    out.write("No new rounds to score\n");
    return;
  }
  const warm = result.warmup > 0 ? `, ${result.warmup} in warm-up (learned from, not flagged)` : "";
  const threshold = result.threshold === null
    ? "not calibrated yet"
    : result.threshold.toPrecision(4);
  if (result.anomalies.length === 0) {
    out.write(
      `Scored ${result.scored} rounds${warm}: no anomalies (model v${result.modelVersion}, threshold ${threshold})\n`,
    );
    return;
  }
  out.write(
    `Scored ${result.scored} rounds${warm}: ${result.anomalies.length} anomalies ` +
      `(model v${result.modelVersion}, threshold ${threshold})\n`,
  );
  for (const a of result.anomalies) {
    const ports = (a.ports ?? []).slice(0, 5).map((p) =>
      `${p.protocol}/${p.port ?? "-"}${
        p.command ? ` (${printable(p.command)}${p.pid ? ` ${p.pid}` : ""})` : ""
      }`
    ).join(", ");
    out.write(
      `  round ${a.roundId} at ${isoString(a.startTime)}: score ${a.score!.toPrecision(4)}${
        a.reason === "new listener" ? " (a new listener)" : ""
      }` +
        `${ports ? `; ports ${ports}` : ""}\n`,
    );
  }
}
