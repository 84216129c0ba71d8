/**
 * The detector: the network, its error scale and how much it has learned, behind one interface
 * that scores windows, learns from normal ones, and saves and restores itself exactly.
 * TensorFlow.js is imported lazily, by {@linkcode createDetector} and {@linkcode loadDetector}.
 *
 * The score of a round is its most surprising feature (see `error_scale.ts`). On the synthetic
 * host of the tests a new listener in an empty bin scores about 120, a UDP flood 35–180, normal
 * rounds 3 (median) and rarely above 10. Features that do not count are left out: hour and
 * `captured`; traffic when capture was off; DNS name lengths when there were no queries.
 *
 * Everything is deterministic given the seed: initializers and dropout are seeded, and training
 * shuffles with a seeded generator.
 *
 * @module
 */
import { type DetectorConfig, resolveConfig } from "./config.ts";
import {
  divisors,
  type ErrorMoments,
  ErrorSums,
  foldMoments,
  standardizedErrors,
  topMean,
} from "./error_scale.ts";
import { type FeatureLayout, featureLayout, scoredFeatures } from "./feature_layout.ts";
import { Network } from "./network.ts";
import { loadTf, type Tf } from "./tf.ts";
import { type FitOptions, range, type TrainingMetrics, trainNetwork } from "./training.ts";
import {
  decodeWeights,
  encodeWeights,
  ModelFormatError,
  type NamedTensor,
} from "./weights_blob.ts";
import type { WindowBatch } from "./windows.ts";

export { ModelFormatError } from "./weights_blob.ts";

/** A detector as stored: everything needed to score exactly as before. */
export interface SavedModel {
  /** The network's layers as JSON (TensorFlow.js `model.toJSON()`). */
  topology: string;
  /** Weights and the typical errors, as a checksummed blob (`weights_blob.ts`). */
  weights: Uint8Array;
  /** The feature encoding the weights expect ({@linkcode FeatureLayout.id}). */
  encoding: string;
  config: DetectorConfig;
  roundsTrainedOn: number;
}

/** Scores of a batch of windows: one per window, i.e. per round scored. */
export interface ScoreResult {
  scores: number[];
  /**
   * Per round, each feature's standardized squared error (squared error over the feature's
   * typical squared error; 0 for features that do not count): what the score is made of and
   * what attribution ranks.
   */
  errors: Float32Array[];
}

/** A trained or trainable CNN-LSTM autoencoder. */
export interface Detector extends Disposable {
  readonly config: Readonly<DetectorConfig>;
  readonly layout: FeatureLayout;
  /** Rounds learned from in all fits, this one's ancestors included. */
  readonly roundsTrainedOn: number;
  readonly parameterCount: number;
  /** Scores each window's last round; throws before the first fit (no random-weight verdicts). */
  score(windows: WindowBatch): ScoreResult;
  /** Learns from normal windows, with early stopping on a held-out share; keeps the best epoch. */
  fit(windows: WindowBatch, options?: FitOptions): Promise<TrainingMetrics>;
  /** A snapshot that {@linkcode loadDetector} turns back into the same detector. */
  save(): SavedModel;
  dispose(): void;
}

/** A new, untrained detector. `seed` overrides `config.seed`. */
export async function createDetector(
  config: Partial<DetectorConfig> = {},
  seed?: number,
): Promise<Detector> {
  const resolved = resolveConfig(seed === undefined ? config : { ...config, seed });
  const tf = await loadTf();
  return new CnnLstmDetector(tf, resolved, 0, 0);
}

/**
 * The detector a {@linkcode SavedModel} describes. Throws {@linkcode ModelFormatError} when the
 * model cannot be restored exactly (another encoding, a topology this version does not build,
 * damaged weights): the caller then builds and trains a new one.
 */
export async function loadDetector(saved: SavedModel): Promise<Detector> {
  let config: DetectorConfig;
  try {
    config = resolveConfig(saved.config);
  } catch (cause) {
    throw new ModelFormatError(
      `Saved model has an invalid configuration: ${cause instanceof Error ? cause.message : cause}`,
      { cause },
    );
  }
  const layout = featureLayout(config.bins);
  if (saved.encoding !== layout.id) {
    throw new ModelFormatError(
      `Saved model expects feature encoding "${saved.encoding}"; this pad encodes "${layout.id}"`,
    );
  }
  const content = decodeWeights(saved.weights);
  const tf = await loadTf();
  const detector = new CnnLstmDetector(
    tf,
    config,
    Number(saved.roundsTrainedOn) || 0,
    Number(content.meta.errorRounds) || 0,
  );
  try {
    if (detector.topology() !== saved.topology) {
      throw new ModelFormatError(
        "Saved model topology differs from the one its configuration builds",
      );
    }
    detector.restore(content.tensors);
  } catch (error) {
    detector.dispose();
    throw error;
  }
  return detector;
}

/** The name the error moments are saved under, beside the network's weights. */
const ERROR_MOMENTS = "pad/error_moments";

class CnnLstmDetector implements Detector {
  readonly config: Readonly<DetectorConfig>;
  readonly layout: FeatureLayout;
  readonly parameterCount: number;
  roundsTrainedOn: number;
  readonly #tf: Tf;
  readonly #network: Network;
  #moments: ErrorMoments;
  /** What each feature's squared error is divided by (see `divisors()`). */
  #divisors: Float32Array;
  #disposed = false;

  constructor(tf: Tf, config: DetectorConfig, roundsTrainedOn: number, errorRounds: number) {
    this.#tf = tf;
    this.config = Object.freeze({ ...config });
    this.layout = featureLayout(config.bins);
    this.#network = new Network(tf, this.config, this.layout);
    this.parameterCount = this.#network.model.countParams();
    this.#moments = { values: new Float64Array(2 * this.layout.length), rounds: errorRounds };
    this.#divisors = divisors(this.layout, this.#moments.values, config);
    this.roundsTrainedOn = roundsTrainedOn;
  }

  topology(): string {
    return this.#network.topology();
  }

  restore(tensors: NamedTensor[]): void {
    const weights = this.#network.model.weights;
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const moments = byName.get(ERROR_MOMENTS);
    if (!moments || moments.values.length !== 2 * this.layout.length) {
      throw new ModelFormatError("Saved model weights lack the typical errors of its features");
    }
    const values = weights.map((w) => {
      const t = byName.get(w.originalName);
      if (!t || !sameShape(t.shape, w.shape as number[])) {
        throw new ModelFormatError(
          `Saved model weights lack "${w.originalName}" of shape [${w.shape}]`,
        );
      }
      return t.values;
    });
    if (byName.size !== weights.length + 1) {
      throw new ModelFormatError("Saved model weights hold tensors this topology does not have");
    }
    this.#network.setWeightValues(values);
    this.#moments = { values: Float64Array.from(moments.values), rounds: this.#moments.rounds };
    this.#divisors = divisors(this.layout, this.#moments.values, this.config);
  }

  score(windows: WindowBatch): ScoreResult {
    this.#check(windows);
    if (this.roundsTrainedOn === 0) {
      throw new Error("The detector has not been trained: fit it before scoring");
    }
    const scores: number[] = [];
    const errors: Float32Array[] = [];
    this.#network.predictEach(windows, range(0, windows.ends.length), (_, actual, out, at) => {
      const mask = scoredFeatures(this.layout, actual);
      const standardized = standardizedErrors(actual, out, at, mask, this.#divisors);
      errors.push(standardized);
      scores.push(topMean(standardized, this.config.scoreTop));
    });
    return { scores, errors };
  }

  async fit(windows: WindowBatch, options: FitOptions = {}): Promise<TrainingMetrics> {
    this.#check(windows);
    const began = performance.now();
    const metrics = await trainNetwork(this.#tf, this.#network, this.config, windows, options);
    if (windows.ends.length === 0) return metrics;
    this.#learnErrorMoments(windows);
    this.roundsTrainedOn += windows.ends.length;
    metrics.seconds = (performance.now() - began) / 1000;
    return metrics;
  }

  save(): SavedModel {
    this.#alive();
    const tensors: NamedTensor[] = this.#network.model.weights.map((w) => ({
      name: w.originalName,
      shape: w.shape as number[],
      values: w.read().dataSync() as Float32Array,
    }));
    tensors.push({
      name: ERROR_MOMENTS,
      shape: [2, this.layout.length],
      values: Float32Array.from(this.#moments.values),
    });
    return {
      topology: this.topology(),
      weights: encodeWeights({ tensors, meta: { errorRounds: this.#moments.rounds } }),
      encoding: this.layout.id,
      config: { ...this.config },
      roundsTrainedOn: this.roundsTrainedOn,
    };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#network.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #alive(): void {
    if (this.#disposed) throw new Error("The detector was disposed");
  }

  #check(windows: WindowBatch): void {
    this.#alive();
    if (windows.window !== this.config.window || windows.length !== this.layout.length) {
      throw new RangeError(
        `Windows of ${windows.window} rounds × ${windows.length} features do not fit a model of ` +
          `${this.config.window} rounds × ${this.layout.length} features`,
      );
    }
  }

  /** Folds the squared errors on these (normal) windows into each feature's moments. */
  #learnErrorMoments(windows: WindowBatch): void {
    const sums = new ErrorSums(this.layout.length);
    this.#network.predictEach(windows, range(0, windows.ends.length), (_, actual, out, at) => {
      sums.add(actual, out, at, scoredFeatures(this.layout, actual));
    });
    this.#moments = foldMoments(this.#moments, sums, this.config.errorMemory);
    this.#divisors = divisors(this.layout, this.#moments.values, this.config);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
