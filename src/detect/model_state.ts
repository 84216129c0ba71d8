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
import { contextWindows, selectWindows, type WindowBatch } from "../model/windows.ts";
import { mulberry32 } from "../random.ts";
import { MIN_COVERAGE, type RoundData } from "../round.ts";
import type { Database } from "../store/database.ts";
import {
  markLearned,
  type RoundScore,
  saveModel,
  type StoredModel,
  storedModel,
  weightedModelIds,
} from "../store/detections.ts";
import { loadWithContext, normalRounds, type RoundRef, verdictsOf } from "../store/history.ts";
import { PadError } from "../errors.ts";
import { causeOf } from "./causes.ts";
import { newListeners } from "./new_listeners.ts";
import { ruleHit } from "./rules.ts";

/** What the new-listener rule remembers between rounds. */
export interface ListenerMemory {
  /** Listeners seen so far, as `tcp/22`. */
  known: Set<string>;
  /** Whether a round was swept before: until then, every listener would look new. */
  swept: boolean;
}

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

  /** Whether the model has learned from any round. */
  get trained(): boolean {
    return this.#detector.roundsTrainedOn > 0;
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
   * Scores `rounds` (consecutive, oldest first, after `context`) and judges each. A round that
   * breaks a rule (src/detect/rules.ts) is an anomaly from the first round on, and so is one
   * where a service listens on a port none of the rounds before had a listener on, once an
   * earlier round was swept (`listeners`, which this updates; a listener only traffic shows
   * counts after the warm-up, which learns the host's usual services; see
   * src/detect/new_listeners.ts). Otherwise a round is warm-up while fewer than `warmup` rounds
   * of history precede it (`historyBefore` precede the first) or while the model is untrained or
   * its threshold uncalibrated, then an anomaly above the threshold, else normal. Normal scores
   * calibrate the threshold for the rounds after these.
   */
  judge(
    context: RoundData[],
    rounds: RoundData[],
    historyBefore: number,
    warmup: number,
    listeners: ListenerMemory,
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
      const lengthMs = (round.endTime ?? round.startTime + 60_000) - round.startTime;
      const warm = score === null || threshold === null || historyBefore + i < warmup;
      const fresh = newListeners(round, listeners.known);
      const listening = [...(listeners.swept ? fresh.swept : []), ...(warm ? [] : fresh.accepting)];
      if (round.occupied.length > 0) listeners.swept = true;
      const rule = ruleHit(round, lengthMs);
      // A round its capture covered only in part would look unlike any whole one: rules and
      // listeners still count, the model's score does not.
      const partial = (round.coverage ?? 1) < MIN_COVERAGE;
      const above = !warm && !partial && score! > threshold!;
      if (!above && listening.length === 0 && rule === null) {
        const verdict = partial ? "partial" : warm ? "warmup" : "normal";
        return { roundId: round.id, score, threshold, verdict };
      }
      const errors = above ? result!.errors[i]! : null;
      const ports = errors
        ? attribute(errors, round, layout, PORTS_PER_ANOMALY)
        : listening.length > 0
        ? listening
        : rule!.ports;
      const cause = causeOf(
        { round, errors, ports, newListeners: listening, rule, lengthMs },
        layout,
      );
      const reason = above ? "score" : listening.length > 0 ? "new listener" : "rule";
      return { roundId: round.id, score, threshold, verdict: "anomaly", reason, ports, cause };
    });
    this.#threshold.observe(scoresToRemember(verdicts, this.window));
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
    this.#threshold.observe(scoresToRemember(verdictsOf(db, step.map((r) => r.id)), this.window));
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
    if (!this.trained && this.#threshold.value === null) {
      this.#threshold.observe(await this.#heldOutScores(windows, options.maxEpochs));
    }
    const metrics = await this.#detector.fit(windows, {
      maxEpochs: options.maxEpochs,
      seed: this.#detector.config.seed + (this.version ?? 0),
    });
    this.#trainedUntil = Math.max(this.#trainedUntil ?? 0, step[step.length - 1]!.startTime);
    this.version = saveModel(db, this.#snapshot(metrics), stepIds);
  }

  /**
   * Scores of the warm-up rounds as a model that never saw them gives them, to calibrate the
   * first threshold at once rather than after as many rounds again: two models, each trained
   * on one half of the windows (the first and the second half in time: overlapping windows of
   * alternate rounds share too much to be held out), score the other half. Learning from half as
   * much, they score a little higher than the model will: the first threshold errs high.
   */
  async #heldOutScores(windows: WindowBatch, maxEpochs: number): Promise<number[]> {
    const scores: number[] = [];
    const indices = windows.ends.map((_, i) => i);
    const middle = Math.floor(indices.length / 2);
    for (const half of [0, 1]) {
      const learn = indices.filter((i) => (i < middle) !== (half === 0));
      const judge = indices.filter((i) => (i < middle) === (half === 0));
      if (learn.length === 0 || judge.length === 0) continue;
      using fold = await createDetector(
        this.#detector.config,
        this.#detector.config.seed + 1 + half,
      );
      await fold.fit(selectWindows(windows, learn), { maxEpochs });
      scores.push(...fold.score(selectWindows(windows, judge)).scores);
    }
    return scores;
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

/**
 * The scores of `verdicts` (one step, in time order) the threshold remembers: those of rounds
 * judged normal or warm-up, except the `window - 1` after a flagged round. Their windows still
 * hold the flagged round, or the change it made is still new to the model (a listener that
 * stays scores high until the next fit learns it): remembered, a few such scores lift the fitted
 * tail for a day (a listener's four next rounds took a threshold from 24 to 108).
 */
export function scoresToRemember(
  verdicts: readonly { verdict: string; score: number | null }[],
  window: number,
): number[] {
  const remembered: number[] = [];
  let shadow = 0;
  for (const { verdict, score } of verdicts) {
    if (verdict === "anomaly") {
      shadow = window - 1;
    } else if (shadow > 0) {
      shadow--;
    } else if ((verdict === "normal" || verdict === "warmup") && score !== null) {
      remembered.push(score);
    }
  }
  return remembered;
}
