/**
 * The CNN-LSTM autoencoder that scores rounds, in TensorFlow.js (pure-JS `cpu` backend, imported
 * lazily by {@linkcode createDetector} and {@linkcode loadDetector} only).
 *
 * The original's layer sequence, with the LSTM over time instead of over the port axis. Input: a
 * window of `window` consecutive rounds, each as `bins × channels` (the ports) plus the globals
 * (see `features.ts`). Per round, a convolution over the bin axis (a `1 × kernel` Conv2D over
 * `[window, bins, channels]`, i.e. a time-distributed Conv1D in one op) → max pooling over bins →
 * dropout → flattened per round and joined with the round's globals → an LSTM over the window's
 * rounds → a dense bottleneck (ReLU) → a dense decoder that reconstructs the window's **last**
 * round, every feature of it. Only the last round is reconstructed because every round is scored
 * exactly once, as the last round of its window; decoding the whole window would multiply the
 * largest layer (the decoder: 35k of the default's 60k parameters) and its share of the refit
 * time by the window length, for errors nobody reads.
 *
 * The score of a round is its most surprising feature: each feature's squared reconstruction
 * error `s` is divided by the size of that feature's typical deviation on normal rounds,
 * `E[s²] / E[s]` (running means kept with the model; for an event that comes and goes, such as a
 * client's ephemeral port in a bin, the error it makes when it happens; for steady noise, three
 * times its variance), at least `channelFloor` times the same ratio pooled over the feature's
 * channel (an event common across bins, like a stray SYN on a random port, stays ordinary in a
 * bin that never saw it), and at least `errorFloor` (a feature always reconstructed exactly: a
 * stable listener, an empty port range). The score is the largest of these standardized errors
 * (`scoreTop` = 1; more averages the largest few). On the synthetic host of the tests a new
 * listener in an empty bin scores about 120, a UDP flood 35–180, normal rounds 3 (median) and
 * rarely above 10. Features that do not count are left out: hour and `captured`; traffic when
 * capture was off; DNS name lengths when there were no queries.
 *
 * Everything is deterministic given the seed: initializers and dropout are seeded, and training
 * shuffles with a seeded generator.
 *
 * @module
 */

import type * as TfCore from "@tensorflow/tfjs-core";
import type * as TfLayers from "@tensorflow/tfjs-layers";
import { DEFAULT_BINS, type FeatureLayout, featureLayout, scoredFeatures } from "./features.ts";
import { mulberry32 } from "../random.ts";
import { loadTf, quietly, type Tf } from "./tf.ts";
import {
  decodeWeights,
  encodeWeights,
  ModelFormatError,
  type NamedTensor,
} from "./weights_blob.ts";
import { copyWindow, lastRound, type WindowBatch } from "./windows.ts";

export { ModelFormatError } from "./weights_blob.ts";

/** Shape and training settings of a detector; saved with it. */
export interface DetectorConfig {
  /** Port bins of the encoding (a power of two). */
  bins: number;
  /** Rounds per window: the LSTM's steps. */
  window: number;
  /** Convolution filters and kernel width (in bins). */
  filters: number;
  kernel: number;
  /** Max-pooling width (in bins); divides `bins`. */
  pool: number;
  dropout: number;
  lstmUnits: number;
  /** Units of the code between encoder and decoder. */
  bottleneck: number;
  learningRate: number;
  batchSize: number;
  /** Seeds the initializers, dropout and shuffling. */
  seed: number;
  /** Least typical squared error a feature is divided by. */
  errorFloor: number;
  /**
   * A bin's feature is divided by at least this share of its channel's mean typical error over
   * all bins: an event that is rare in each bin but common across bins (a stray SYN on a random
   * port) stays ordinary.
   */
  channelFloor: number;
  /** The score is the mean of this many largest standardized errors. */
  scoreTop: number;
  /** Rounds the typical errors remember (a running mean over about this many). */
  errorMemory: number;
}

/** The defaults, chosen from `bench/detect_bench.ts` (see README). */
export const DEFAULT_CONFIG: Readonly<DetectorConfig> = Object.freeze({
  bins: DEFAULT_BINS,
  window: 10,
  filters: 8,
  kernel: 3,
  pool: 8,
  dropout: 0.05,
  lstmUnits: 32,
  bottleneck: 16,
  learningRate: 2e-3,
  batchSize: 16,
  seed: 1,
  errorFloor: 1e-4,
  channelFloor: 1,
  scoreTop: 1,
  errorMemory: 1440,
});

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

/** Options of {@linkcode Detector.fit}. */
export interface FitOptions {
  /** Most passes over the windows (default 10: an hourly refit continues the last one). */
  maxEpochs?: number;
  /** Epochs without a better validation loss before stopping (default 2). */
  patience?: number;
  /** Least relative drop of the validation loss that counts as better (default 0.01). */
  minDelta?: number;
  /** Share of the windows held out for early stopping (default 0.2). */
  validationSplit?: number;
  /** Seeds the split, the shuffling and dropout of this fit (default: the detector's seed). */
  seed?: number;
}

/** What a fit did, for the `models` table. */
export interface TrainingMetrics {
  windows: number;
  trainWindows: number;
  validationWindows: number;
  epochs: number;
  /** The epoch (1-based) whose weights were kept. */
  bestEpoch: number;
  trainLoss: number[];
  validationLoss: number[];
  stoppedEarly: boolean;
  seconds: number;
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

/** Checks and completes a configuration. */
export function resolveConfig(config: Partial<DetectorConfig> = {}): DetectorConfig {
  const c = { ...DEFAULT_CONFIG, ...config };
  featureLayout(c.bins); // validates bins
  const positive: (keyof DetectorConfig)[] = [
    "window",
    "filters",
    "kernel",
    "pool",
    "lstmUnits",
    "bottleneck",
    "batchSize",
    "scoreTop",
    "errorMemory",
  ];
  for (const key of positive) {
    if (!Number.isInteger(c[key]) || c[key] < 1) {
      throw new RangeError(`Detector ${key} must be a positive integer: got ${c[key]}`);
    }
  }
  if (c.bins % c.pool !== 0) {
    throw new RangeError(`Detector pool must divide bins (${c.bins}): got ${c.pool}`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) {
    throw new RangeError(`Detector dropout must be in [0, 1): got ${c.dropout}`);
  }
  if (!(c.learningRate > 0) || !(c.errorFloor > 0) || !(c.channelFloor >= 0)) {
    throw new RangeError(
      "Detector learningRate and errorFloor must be positive, channelFloor not negative",
    );
  }
  if (!Number.isInteger(c.seed)) {
    throw new RangeError(`Detector seed must be an integer: got ${c.seed}`);
  }
  return c;
}

/** A new, untrained detector. `seed` overrides `config.seed`. */
export async function createDetector(
  config: Partial<DetectorConfig> = {},
  seed?: number,
): Promise<Detector> {
  const resolved = resolveConfig(seed === undefined ? config : { ...config, seed });
  const tf = await loadTf();
  return new CnnLstmDetector(tf, resolved, null, 0, 0);
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
    throw new ModelFormatError(`Saved model has an invalid configuration: ${message(cause)}`, {
      cause,
    });
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
    null,
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

const ERROR_MOMENTS = "pad/error_moments";
const PREDICT_BATCH = 64;

class CnnLstmDetector implements Detector {
  readonly config: Readonly<DetectorConfig>;
  readonly layout: FeatureLayout;
  readonly parameterCount: number;
  roundsTrainedOn: number;
  #tf: Tf;
  #model: TfLayers.LayersModel;
  #dropout: object | null;
  /**
   * Per feature, the running means of its squared error `s` and of `s²` on normal rounds
   * (`[E s…, E s²…]`), and over how many rounds.
   */
  #moments: Float64Array;
  #errorRounds: number;
  /** What each feature's squared error is divided by (see {@linkcode divisors}). */
  #divisors: Float32Array;
  #disposed = false;

  constructor(
    tf: Tf,
    config: DetectorConfig,
    moments: Float64Array | null,
    roundsTrainedOn: number,
    errorRounds: number,
  ) {
    this.#tf = tf;
    this.config = Object.freeze({ ...config });
    this.layout = featureLayout(config.bins);
    this.#model = quietly(() => buildModel(tf, config, this.layout));
    this.#dropout = this.#model.layers.find((l) => l.name === "dropout") ?? null;
    this.parameterCount = this.#model.countParams();
    this.#moments = moments ?? new Float64Array(2 * this.layout.length);
    this.#divisors = divisors(this.layout, this.#moments, config);
    this.roundsTrainedOn = roundsTrainedOn;
    this.#errorRounds = errorRounds;
  }

  topology(): string {
    return JSON.stringify(this.#model.toJSON(null, false));
  }

  restore(tensors: NamedTensor[]): void {
    const weights = this.#model.weights;
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
    this.#setWeights(values);
    this.#moments = Float64Array.from(moments.values);
    this.#divisors = divisors(this.layout, this.#moments, this.config);
  }

  score(windows: WindowBatch): ScoreResult {
    this.#check(windows);
    if (this.roundsTrainedOn === 0) {
      throw new Error("The detector has not been trained: fit it before scoring");
    }
    const scores: number[] = [];
    const errors: Float32Array[] = [];
    for (let start = 0; start < windows.ends.length; start += PREDICT_BATCH) {
      const indices = range(start, Math.min(windows.ends.length, start + PREDICT_BATCH));
      const predicted = this.#predict(windows, indices);
      indices.forEach((index, k) => {
        const actual = lastRound(windows, index);
        const mask = scoredFeatures(this.layout, actual);
        const standardized = new Float32Array(this.layout.length);
        const offset = k * this.layout.length;
        for (let f = 0; f < this.layout.length; f++) {
          if (mask[f] === 0) continue;
          const d = actual[f]! - predicted[offset + f]!;
          standardized[f] = (d * d) / this.#divisors[f]!;
        }
        errors.push(standardized);
        scores.push(topMean(standardized, this.config.scoreTop));
      });
    }
    return { scores, errors };
  }

  async fit(windows: WindowBatch, options: FitOptions = {}): Promise<TrainingMetrics> {
    this.#check(windows);
    const began = performance.now();
    const maxEpochs = options.maxEpochs ?? 10;
    const patience = options.patience ?? 2;
    const minDelta = options.minDelta ?? 0.01;
    const split = options.validationSplit ?? 0.2;
    const seed = options.seed ?? this.config.seed;
    if (!Number.isInteger(maxEpochs) || maxEpochs < 1) {
      throw new RangeError(`maxEpochs must be a positive integer: got ${maxEpochs}`);
    }
    if (!(split >= 0 && split < 1)) {
      throw new RangeError(`validationSplit must be in [0, 1): got ${split}`);
    }
    const n = windows.ends.length;
    const metrics: TrainingMetrics = {
      windows: n,
      trainWindows: 0,
      validationWindows: 0,
      epochs: 0,
      bestEpoch: 0,
      trainLoss: [],
      validationLoss: [],
      stoppedEarly: false,
      seconds: 0,
    };
    if (n === 0) return metrics;

    const random = mulberry32(seed);
    const order = shuffled(range(0, n), random);
    // Hold out a share for early stopping, but only when both sides keep a few windows.
    const held = n >= 10 ? Math.round(n * split) : 0;
    const validation = order.slice(0, held);
    const train = order.slice(held);
    metrics.trainWindows = train.length;
    metrics.validationWindows = validation.length;

    const { core } = this.#tf;
    const optimizer = core.train.adam(this.config.learningRate);
    this.#model.compile({ optimizer, loss: "meanSquaredError" });
    let best = Infinity;
    let bestWeights: Float32Array[] | null = null;
    let waited = 0;
    try {
      for (let epoch = 1; epoch <= maxEpochs; epoch++) {
        const batches = shuffled(train, random);
        let lossSum = 0;
        for (let start = 0; start < batches.length; start += this.config.batchSize) {
          const batch = batches.slice(start, start + this.config.batchSize);
          this.#setDropoutSeed(Math.floor(random() * 2 ** 31));
          const tensors = this.#tensors(windows, batch, true);
          try {
            const [ports, globals, target] = tensors as [
              TfCore.Tensor,
              TfCore.Tensor,
              TfCore.Tensor,
            ];
            const loss = await this.#model.trainOnBatch([ports, globals], target);
            lossSum += (Array.isArray(loss) ? loss[0]! : loss) * batch.length;
          } finally {
            core.dispose(tensors);
          }
        }
        metrics.trainLoss.push(lossSum / Math.max(1, train.length));
        metrics.epochs = epoch;
        const monitored = validation.length > 0
          ? this.#loss(windows, validation)
          : metrics.trainLoss[epoch - 1]!;
        if (validation.length > 0) metrics.validationLoss.push(monitored);
        if (monitored < best) {
          // Keep the best weights whatever the gain, but only a real gain resets the patience.
          if (monitored < best * (1 - minDelta)) waited = 0;
          else waited++;
          best = monitored;
          metrics.bestEpoch = epoch;
          bestWeights = this.#model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
        } else waited++;
        if (waited >= patience) {
          metrics.stoppedEarly = epoch < maxEpochs;
          break;
        }
      }
    } finally {
      this.#setDropoutSeed(this.config.seed);
      optimizer.dispose();
    }
    if (bestWeights) this.#setWeights(bestWeights);
    this.#learnErrorMoments(windows);
    this.roundsTrainedOn += n;
    metrics.seconds = (performance.now() - began) / 1000;
    return metrics;
  }

  save(): SavedModel {
    this.#alive();
    const tensors: NamedTensor[] = this.#model.weights.map((w) => ({
      name: w.originalName,
      shape: w.shape as number[],
      values: w.read().dataSync() as Float32Array,
    }));
    tensors.push({
      name: ERROR_MOMENTS,
      shape: [2, this.layout.length],
      values: Float32Array.from(this.#moments),
    });
    return {
      topology: this.topology(),
      weights: encodeWeights({ tensors, meta: { errorRounds: this.#errorRounds } }),
      encoding: this.layout.id,
      config: { ...this.config },
      roundsTrainedOn: this.roundsTrainedOn,
    };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#model.dispose();
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

  /** Input tensors (and the target, the last rounds) of the windows at `indices`. */
  #tensors(windows: WindowBatch, indices: number[], withTarget: boolean): TfCore.Tensor[] {
    const { core } = this.#tf;
    const { window } = this.config;
    const { length, binFeatures, bins, channels } = this.layout;
    const g = length - binFeatures;
    const n = indices.length;
    const flat = new Float32Array(window * length);
    const ports = new Float32Array(n * window * binFeatures);
    const globals = new Float32Array(n * window * g);
    const target = withTarget ? new Float32Array(n * length) : null;
    indices.forEach((index, k) => {
      copyWindow(windows, index, flat);
      for (let step = 0; step < window; step++) {
        const at = step * length;
        const row = k * window + step;
        ports.set(flat.subarray(at, at + binFeatures), row * binFeatures);
        globals.set(flat.subarray(at + binFeatures, at + length), row * g);
      }
      target?.set(flat.subarray((window - 1) * length), k * length);
    });
    const tensors: TfCore.Tensor[] = [
      core.tensor4d(ports, [n, window, bins, channels.length]),
      core.tensor3d(globals, [n, window, g]),
    ];
    if (target) tensors.push(core.tensor2d(target, [n, length]));
    return tensors;
  }

  /** Reconstructions of the windows at `indices`, `[indices.length × length]`. */
  #predict(windows: WindowBatch, indices: number[]): Float32Array {
    const { core } = this.#tf;
    const inputs = this.#tensors(windows, indices, false);
    try {
      return core.tidy(() => {
        const out = this.#model.predict(inputs, { batchSize: PREDICT_BATCH }) as TfCore.Tensor;
        return out.dataSync() as Float32Array;
      });
    } finally {
      core.dispose(inputs);
    }
  }

  /** Mean squared error over the windows at `indices` (what training minimizes). */
  #loss(windows: WindowBatch, indices: number[]): number {
    let sum = 0;
    for (let start = 0; start < indices.length; start += PREDICT_BATCH) {
      const part = indices.slice(start, start + PREDICT_BATCH);
      const predicted = this.#predict(windows, part);
      part.forEach((index, k) => {
        const actual = lastRound(windows, index);
        const offset = k * this.layout.length;
        for (let f = 0; f < this.layout.length; f++) {
          const d = actual[f]! - predicted[offset + f]!;
          sum += d * d;
        }
      });
    }
    return sum / (indices.length * this.layout.length);
  }

  /**
   * Folds the squared errors on these (normal) windows into each feature's moments: running
   * means that remember about `errorMemory` rounds.
   */
  #learnErrorMoments(windows: WindowBatch): void {
    const { length } = this.layout;
    const sums = new Float64Array(2 * length);
    const counts = new Float64Array(length);
    const all = range(0, windows.ends.length);
    for (let start = 0; start < all.length; start += PREDICT_BATCH) {
      const part = all.slice(start, start + PREDICT_BATCH);
      const predicted = this.#predict(windows, part);
      part.forEach((index, k) => {
        const actual = lastRound(windows, index);
        const mask = scoredFeatures(this.layout, actual);
        for (let f = 0; f < length; f++) {
          if (mask[f] === 0) continue;
          const d = actual[f]! - predicted[k * length + f]!;
          const s = d * d;
          sums[f] = sums[f]! + s;
          sums[length + f] = sums[length + f]! + s * s;
          counts[f] = counts[f]! + 1;
        }
      });
    }
    // Quantized to float32 now, so a saved and reloaded detector divides by the same numbers.
    const kept = Math.min(this.#errorRounds, this.config.errorMemory);
    const moments = new Float64Array(2 * length);
    for (let f = 0; f < length; f++) {
      const n = counts[f]!;
      for (const at of [f, length + f]) {
        moments[at] = n + kept > 0
          ? Math.fround((kept * this.#moments[at]! + sums[at]!) / (kept + n))
          : 0;
      }
    }
    this.#moments = moments;
    this.#divisors = divisors(this.layout, moments, this.config);
    this.#errorRounds = Math.min(kept + windows.ends.length, this.config.errorMemory);
  }

  #setWeights(values: Float32Array[]): void {
    const { core } = this.#tf;
    const tensors = this.#model.weights.map((w, i) => core.tensor(values[i]!, w.shape as number[]));
    try {
      this.#model.setWeights(tensors);
    } finally {
      core.dispose(tensors);
    }
  }

  #setDropoutSeed(seed: number): void {
    // Dropout reads its seed at every call; a seeded layer would otherwise drop the same units
    // in every batch. Varying it per batch from the fit's generator keeps fits repeatable.
    if (this.#dropout) Object.assign(this.#dropout, { seed });
  }
}

/** Builds the network; see the module documentation. */
function buildModel(tf: Tf, c: DetectorConfig, layout: FeatureLayout): TfLayers.LayersModel {
  const { layers, initializers } = tf.layers;
  const g = layout.length - layout.binFeatures;
  const seed = (k: number) => c.seed * 16 + k;
  const ports = tf.layers.input({
    shape: [c.window, c.bins, layout.channels.length],
    name: "ports",
  });
  const globals = tf.layers.input({ shape: [c.window, g], name: "globals" });
  let x = layers.conv2d({
    name: "conv",
    filters: c.filters,
    kernelSize: [1, c.kernel],
    padding: "same",
    activation: "relu",
    kernelInitializer: initializers.glorotUniform({ seed: seed(1) }),
  }).apply(ports) as TfLayers.SymbolicTensor;
  x = layers.maxPooling2d({ name: "pool", poolSize: [1, c.pool], strides: [1, c.pool] })
    .apply(x) as TfLayers.SymbolicTensor;
  x = layers.dropout({ name: "dropout", rate: c.dropout, seed: c.seed })
    .apply(x) as TfLayers.SymbolicTensor;
  x = layers.reshape({ name: "per_round", targetShape: [c.window, (c.bins / c.pool) * c.filters] })
    .apply(x) as TfLayers.SymbolicTensor;
  let h = layers.concatenate({ name: "with_globals", axis: -1 })
    .apply([x, globals]) as TfLayers.SymbolicTensor;
  h = layers.lstm({
    name: "lstm",
    units: c.lstmUnits,
    kernelInitializer: initializers.glorotUniform({ seed: seed(2) }),
    // Not Keras' orthogonal default: tfjs-layers' Orthogonal needs the chained tensor methods that
    // only the `@tensorflow/tfjs` union package registers. Over ten steps Glorot does as well.
    recurrentInitializer: initializers.glorotUniform({ seed: seed(3) }),
  }).apply(h) as TfLayers.SymbolicTensor;
  const code = layers.dense({
    name: "code",
    units: c.bottleneck,
    activation: "relu",
    kernelInitializer: initializers.glorotUniform({ seed: seed(4) }),
  }).apply(h) as TfLayers.SymbolicTensor;
  const output = layers.dense({
    name: "decoder",
    units: layout.length,
    kernelInitializer: initializers.glorotUniform({ seed: seed(5) }),
  }).apply(code) as TfLayers.SymbolicTensor;
  return tf.layers.model({ name: "pad", inputs: [ports, globals], outputs: output });
}

/**
 * What each feature's squared error `s` is divided by: the size of its typical deviation,
 * `E[s²] / E[s]` (for an event that happens now and then, the error it makes when it happens,
 * however rare; for steady noise, three times its variance), but at least `channelFloor` times
 * the same ratio pooled over its channel's bins, and at least `errorFloor` (a feature that was
 * always reconstructed exactly: a stable listener, an empty range).
 */
function divisors(
  layout: FeatureLayout,
  moments: Float64Array,
  c: Pick<DetectorConfig, "errorFloor" | "channelFloor">,
): Float32Array {
  const { length, binFeatures } = layout;
  const channels = layout.channels.length;
  const pooled = new Float64Array(2 * channels);
  for (let f = 0; f < binFeatures; f++) {
    pooled[f % channels] = pooled[f % channels]! + moments[f]!;
    pooled[channels + (f % channels)] = pooled[channels + (f % channels)]! + moments[length + f]!;
  }
  const ratio = (mean: number, square: number) => (mean > 0 ? square / mean : 0);
  const out = new Float32Array(length);
  for (let f = 0; f < length; f++) {
    const own = ratio(moments[f]!, moments[length + f]!);
    const shared = f < binFeatures
      ? c.channelFloor * ratio(pooled[f % channels]!, pooled[channels + (f % channels)]!)
      : 0;
    out[f] = Math.max(own, shared, c.errorFloor);
  }
  return out;
}

/** Mean of the `k` largest values. */
function topMean(values: Float32Array, k: number): number {
  if (k >= values.length) return values.reduce((a, b) => a + b, 0) / values.length;
  // A small sorted buffer: k is tiny next to the feature count.
  const top = new Float64Array(k);
  for (const v of values) {
    if (v <= top[k - 1]!) continue;
    let i = k - 1;
    while (i > 0 && top[i - 1]! < v) {
      top[i] = top[i - 1]!;
      i--;
    }
    top[i] = v;
  }
  return top.reduce((a, b) => a + b, 0) / k;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
