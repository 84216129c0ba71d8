/**
 * The model as detect uses it: a detector with its threshold, loaded from and saved to the
 * `models` table, judging rounds (warm-up, normal, anomaly) and learning from normal ones.
 *
 * @module
 */
import { attribute } from "../model/attribution.ts";
import {
  createDetector,
  type Detector,
  type DetectorConfig,
  loadDetector,
  type SavedModel,
  type TrainingMetrics,
} from "../model/autoencoder.ts";
import { encodeRound } from "../model/features.ts";
import type { RoundData } from "../round.ts";
import { Threshold } from "../model/threshold.ts";
import { newListeners } from "./new_listeners.ts";
import { buildWindows, type WindowBatch } from "../model/windows.ts";
import type { RoundScore, StoredModel } from "../store/detections.ts";
import type { RoundRef } from "../store/history.ts";
import { mulberry32 } from "../random.ts";

/** Ports reported per anomaly at most. */
const PORTS_PER_ANOMALY = 10;

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
   * The stored model, or a new one (seeded) when there is none or it cannot be loaded; then
   * `onRebuild` hears why, and the new model learns from the stored history as it goes.
   */
  static async open(
    stored: StoredModel | null,
    seed: number,
    onRebuild: (reason: string) => void,
  ): Promise<ModelState> {
    if (stored) {
      try {
        const detector = await loadDetector(savedModelOf(stored));
        const threshold = Threshold.fromJSON(JSON.parse(stored.thresholdState));
        return new ModelState(detector, threshold, stored.id, stored.trainedUntil);
      } catch (error) {
        onRebuild(`version ${stored.id}: ${error instanceof Error ? error.message : error}`);
      }
    }
    return new ModelState(await createDetector({}, seed), new Threshold(), null, null);
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
    const encoded = [...context, ...rounds].map((r) => encodeRound(r, layout));
    const trained = this.#detector.roundsTrainedOn > 0;
    const result = trained
      ? this.#detector.score(buildWindows(encoded, this.window, context.length))
      : null;
    const threshold = this.#threshold.value;
    const verdicts = rounds.map((round, i): RoundScore => {
      const score = result?.scores[i] ?? null;
      const fresh = newListeners(round, knownListeners);
      if (score === null || threshold === null || historyBefore + i < warmup) {
        return { roundId: round.id, score, threshold, verdict: "warmup" };
      }
      if (score > threshold) {
        const ports = attribute(result!.errors[i]!, round, layout, PORTS_PER_ANOMALY);
        return { roundId: round.id, score, threshold, verdict: "anomaly", reason: "score", ports };
      }
      if (fresh.length > 0) {
        return {
          roundId: round.id,
          score,
          threshold,
          verdict: "anomaly",
          reason: "new listener",
          ports: fresh,
        };
      }
      return { roundId: round.id, score, threshold, verdict: "normal" };
    });
    this.#threshold.observe(
      verdicts.filter((v) => v.verdict !== "anomaly" && v.score !== null).map((v) => v.score!),
    );
    return verdicts;
  }

  /** Up to `count` of `refs`, drawn without replacement by the model's seeded generator. */
  replaySample(refs: RoundRef[], count: number): RoundRef[] {
    const pool = [...refs];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, count);
  }

  /**
   * Learns from normal `rounds` (each with up to `window − 1` rounds of context before it) and
   * returns the new version to store.
   */
  async learn(
    rounds: RoundData[],
    contexts: Map<number, RoundData[]>,
    options: { maxEpochs: number; trainedUntil: number },
  ): Promise<Omit<StoredModel, "id">> {
    const metrics = await this.#detector.fit(this.#windows(rounds, contexts), {
      maxEpochs: options.maxEpochs,
      seed: this.#detector.config.seed + (this.version ?? 0),
    });
    this.#trainedUntil = Math.max(this.#trainedUntil ?? 0, options.trainedUntil);
    return this.#snapshot(metrics);
  }

  /** One window per round, each round after its own context (padded with its oldest round). */
  #windows(rounds: RoundData[], contexts: Map<number, RoundData[]>): WindowBatch {
    const layout = this.#detector.layout;
    const cache = new Map<number, Float32Array>();
    const encode = (r: RoundData) => {
      let e = cache.get(r.id);
      if (!e) cache.set(r.id, e = encodeRound(r, layout));
      return e;
    };
    const list: Float32Array[] = [];
    const ends: number[] = [];
    for (const round of rounds) {
      const context = (contexts.get(round.id) ?? []).map(encode);
      const own = encode(round);
      while (context.length < this.window - 1) context.unshift(context[0] ?? own);
      list.push(...context, own); // references: a round shared by windows is stored once
      ends.push(list.length - 1);
    }
    return { window: this.window, length: layout.length, rounds: list, ends };
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
