/**
 * The model as detect uses it: a detector with its threshold, loaded from and saved to the
 * `models` table, judging rounds (warm-up, normal, anomaly) and learning from normal ones.
 *
 * @module
 */
import { attribute } from "../model/attribution.ts";
import type { DetectorConfig } from "../model/config.ts";
import { createDetector, type Detector, loadDetector, type SavedModel } from "../model/detector.ts";
import { Threshold } from "../model/threshold.ts";
import type { TrainingMetrics } from "../model/training.ts";
import { contextWindows } from "../model/windows.ts";
import { mulberry32 } from "../random.ts";
import type { RoundData } from "../round.ts";
import type { Database } from "../store/database.ts";
import {
  markLearned,
  type RoundScore,
  saveModel,
  type StoredModel,
  storedModel,
  weightedModelIds,
} from "../store/detections.ts";
import { loadWithContext, normalRounds, normalScores, type RoundRef } from "../store/history.ts";
import { PadError } from "../errors.ts";
import { causeOf } from "./causes.ts";
import { newListeners } from "./new_listeners.ts";

/** Ports reported per anomaly at most. */
const PORTS_PER_ANOMALY = 10;

/** How far back the normal rounds replayed with each hour's go. */
const REPLAY_SPAN_MS = 86_400_000;

/** A stored version as the detector saved it. */
export function savedModelOf(stored: StoredModel): SavedModel {
  return {
    topology: stored.topology,
    weights: stored.weights,
    encoding: stored.encoding,
    config: JSON.parse(stored.config) as DetectorConfig,
    roundsTrainedOn: stored.roundsTrained,
  };
}

/** A detector, its threshold and the version they were loaded from. */
export class ModelState implements Disposable {
  /** The stored version scores are attributed to; null before the first is saved. */
  version: number | null;
  readonly #detector: Detector;
  readonly #threshold: Threshold;
  #trainedUntil: number | null;
  #random: () => number;

  private constructor(
    detector: Detector,
    threshold: Threshold,
    version: number | null,
    trainedUntil: number | null,
  ) {
    this.#detector = detector;
    this.#threshold = threshold;
    this.version = version;
    this.#trainedUntil = trainedUntil;
    this.#random = mulberry32(detector.config.seed + (version ?? 0));
  }

  /**
   * The newest stored version that loads; versions that do not (damaged, another encoding) are
   * passed over and `warn` hears why. When none loads, a new model (seeded with `seed`) learns
   * from the stored history as it goes, unless `keepVerdicts`: then it throws, since a new
   * model's warm-up would replace every stored verdict (`--rescore`).
   */
  static async open(
    db: Database,
    options: { seed: number; keepVerdicts: boolean; warn: (message: string) => void },
  ): Promise<ModelState> {
    let newestFailure: string | null = null;
    for (const id of weightedModelIds(db)) {
      const stored = storedModel(db, id);
      if (!stored) continue;
      try {
        const detector = await loadDetector(savedModelOf(stored));
        let threshold: Threshold;
        try {
          threshold = Threshold.fromJSON(JSON.parse(stored.thresholdState));
        } catch (error) {
          detector.dispose();
          throw error;
        }
        if (newestFailure !== null) {
          options.warn(`${newestFailure}; scoring with version ${id}, the newest that loads`);
        }
        return new ModelState(detector, threshold, stored.id, stored.trainedUntil);
      } catch (error) {
        newestFailure ??= `The stored model could not be loaded (version ${id}: ${
          error instanceof Error ? error.message : error
        })`;
      }
    }
    if (newestFailure !== null) {
      if (options.keepVerdicts) {
        throw new PadError(
          `${newestFailure}, nor any older version: rescoring with a new model would replace ` +
            "every verdict with warm-up, so nothing was changed; run pad detect without " +
            "--rescore to build a new model",
        );
      }
      options.warn(`${newestFailure}; building a new one`);
    }
    return new ModelState(await createDetector({}, options.seed), new Threshold(), null, null);
  }

  /** Rounds per window. */
  get window(): number {
    return this.#detector.config.window;
  }

  /** The current threshold; null until calibrated. */
  get threshold(): number | null {
    return this.#threshold.value;
  }

  /**
   * Scores `rounds` (consecutive, oldest first, after `context`) and judges each: warm-up
   * while fewer than `warmup` rounds of history precede it (`historyBefore` precede the first)
   * or while the model is untrained or its threshold uncalibrated; else anomaly above the
   * threshold, or when a service listens on a port none of the rounds before had a listener on
   * (`knownListeners`, which this updates; see src/detect/new_listeners.ts). Normal scores then
   * calibrate the threshold for the rounds after these.
   */
  judge(
    context: RoundData[],
    rounds: RoundData[],
    historyBefore: number,
    warmup: number,
    knownListeners: Set<string>,
  ): RoundScore[] {
    const layout = this.#detector.layout;
    const trained = this.#detector.roundsTrainedOn > 0;
    const all = [...context, ...rounds];
    const before = (_: RoundData, i: number) =>
      all.slice(Math.max(0, context.length + i - (this.window - 1)), context.length + i);
    const result = trained
      ? this.#detector.score(contextWindows(rounds, before, this.window, layout))
      : null;
    const threshold = this.#threshold.value;
    const verdicts = rounds.map((round, i): RoundScore => {
      const score = result?.scores[i] ?? null;
      const fresh = newListeners(round, knownListeners);
      if (score === null || threshold === null || historyBefore + i < warmup) {
        return { roundId: round.id, score, threshold, verdict: "warmup" };
      }
      const above = score > threshold;
      if (!above && fresh.length === 0) {
        return { roundId: round.id, score, threshold, verdict: "normal" };
      }
      const errors = result!.errors[i]!;
      const ports = above ? attribute(errors, round, layout, PORTS_PER_ANOMALY) : fresh;
      const cause = causeOf({
        round,
        errors: above ? errors : null,
        ports,
        newListeners: fresh,
        lengthMs: (round.endTime ?? round.startTime + 60_000) - round.startTime,
      }, layout);
      const reason = above ? "score" : "new listener";
      return { roundId: round.id, score, threshold, verdict: "anomaly", reason, ports, cause };
    });
    this.#threshold.observe(
      verdicts.filter((v) => v.verdict !== "anomaly" && v.score !== null).map((v) => v.score!),
    );
    return verdicts;
  }

  /**
   * Learns an hour a detect scored and stored, then died before learning (see
   * `unlearnedRounds()`): the threshold sees the hour's normal scores as it did when they were
   * judged, then {@linkcode learn} runs.
   */
  async catchUp(
    db: Database,
    step: readonly RoundRef[],
    options: { maxEpochs: number },
  ): Promise<void> {
    this.#threshold.observe(normalScores(db, step.map((r) => r.id)));
    await this.learn(db, step, options);
  }

  /**
   * Learns from the rounds of `step` that were judged normal (flagged ones never are), with a
   * sample of as many normal rounds of the day before (so an hour of night does not make the
   * model forget the day), each after its own context, and saves the new version with the
   * step's rounds marked learned, in one transaction. A step without a normal round is only
   * marked.
   */
  async learn(
    db: Database,
    step: readonly RoundRef[],
    options: { maxEpochs: number },
  ): Promise<void> {
    const from = step[0]!.startTime;
    const to = step[step.length - 1]!.startTime + 1;
    const stepIds = step.map((r) => r.id);
    const fresh = normalRounds(db, from, to);
    if (fresh.length === 0) {
      markLearned(db, stepIds);
      return;
    }
    const replay = this.#replaySample(normalRounds(db, from - REPLAY_SPAN_MS, from), fresh.length);
    const train = [...replay, ...fresh].sort((a, b) => a.startTime - b.startTime);
    const { rounds, contextOf } = loadWithContext(db, train, this.window - 1);
    const windows = contextWindows(rounds, contextOf, this.window, this.#detector.layout);
    const metrics = await this.#detector.fit(windows, {
      maxEpochs: options.maxEpochs,
      seed: this.#detector.config.seed + (this.version ?? 0),
    });
    this.#trainedUntil = Math.max(this.#trainedUntil ?? 0, step[step.length - 1]!.startTime);
    this.version = saveModel(db, this.#snapshot(metrics), stepIds);
  }

  /** Up to `count` of `refs`, drawn without replacement by the model's seeded generator. */
  #replaySample(refs: RoundRef[], count: number): RoundRef[] {
    const pool = [...refs];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, count);
  }

  #snapshot(metrics: TrainingMetrics): Omit<StoredModel, "id"> {
    const saved = this.#detector.save();
    return {
      created: Date.now(),
      encoding: saved.encoding,
      topology: saved.topology,
      weights: saved.weights,
      config: JSON.stringify(saved.config),
      threshold: this.#threshold.value,
      thresholdState: JSON.stringify(this.#threshold.toJSON()),
      roundsTrained: saved.roundsTrainedOn,
      trainedUntil: this.#trainedUntil,
      metrics: JSON.stringify(metrics),
    };
  }

  [Symbol.dispose](): void {
    this.#detector.dispose();
  }
}
