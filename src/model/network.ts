/**
 * The CNN-LSTM network in TensorFlow.js: its layers, how windows of encoded rounds become its
 * input tensors, and prediction in batches.
 *
 * The original's layer sequence, with the LSTM over time instead of over the port axis. Input:
 * a window of `window` consecutive rounds, each as `bins × channels` (the ports) plus the
 * globals (see `features.ts`). Per round, a convolution over the bin axis (a `1 × kernel` Conv2D
 * over `[window, bins, channels]`, i.e. a time-distributed Conv1D in one op) → max pooling over
 * bins → dropout → flattened per round and joined with the round's globals → an LSTM over the
 * window's rounds → a dense bottleneck (ReLU) → a dense decoder that reconstructs the window's
 * **last** round, every feature of it. Only the last round is reconstructed because every round
 * is scored exactly once, as the last round of its window; decoding the whole window would
 * multiply the largest layer (the decoder: 35k of the default's 60k parameters) and its share of
 * the refit time by the window length, for errors nobody reads.
 *
 * @module
 */
import type * as TfCore from "@tensorflow/tfjs-core";
import type * as TfLayers from "@tensorflow/tfjs-layers";
import type { DetectorConfig } from "./config.ts";
import type { FeatureLayout } from "./feature_layout.ts";
import { quietly, type Tf } from "./tf.ts";
import { copyWindow, lastRound, type WindowBatch } from "./windows.ts";

/** Windows predicted per call: the batch of `model.predict`. */
const PREDICT_BATCH = 64;

/** The network of one detector, with the TensorFlow.js it runs on. */
export class Network implements Disposable {
  readonly model: TfLayers.LayersModel;
  readonly #tf: Tf;
  readonly #config: Readonly<DetectorConfig>;
  readonly #layout: FeatureLayout;
  readonly #dropout: object | null;

  constructor(tf: Tf, config: Readonly<DetectorConfig>, layout: FeatureLayout) {
    this.#tf = tf;
    this.#config = config;
    this.#layout = layout;
    this.model = quietly(() => buildModel(tf, config, layout));
    this.#dropout = this.model.layers.find((l) => l.name === "dropout") ?? null;
  }

  /** The layers as JSON: what a saved model is checked against. */
  topology(): string {
    return JSON.stringify(this.model.toJSON(null, false));
  }

  /**
   * Predicts the windows at `indices`, `PREDICT_BATCH` at a time, and calls `visit` for each in
   * order with the window's last round (`actual`) and its reconstruction
   * (`predicted[offset … offset + length)`).
   */
  predictEach(
    windows: WindowBatch,
    indices: readonly number[],
    visit: (index: number, actual: Float32Array, predicted: Float32Array, offset: number) => void,
  ): void {
    const length = this.#layout.length;
    for (let start = 0; start < indices.length; start += PREDICT_BATCH) {
      const part = indices.slice(start, start + PREDICT_BATCH);
      const predicted = this.#predict(windows, part);
      part.forEach((index, k) => visit(index, lastRound(windows, index), predicted, k * length));
    }
  }

  /** Mean squared error over the windows at `indices` (what training minimizes). */
  loss(windows: WindowBatch, indices: readonly number[]): number {
    let sum = 0;
    this.predictEach(windows, indices, (_, actual, predicted, offset) => {
      for (let f = 0; f < this.#layout.length; f++) {
        const d = actual[f]! - predicted[offset + f]!;
        sum += d * d;
      }
    });
    return sum / (indices.length * this.#layout.length);
  }

  /** One optimizer step on the windows at `batch`; returns the batch's loss. */
  async trainOnBatch(windows: WindowBatch, batch: readonly number[]): Promise<number> {
    const tensors = this.#tensors(windows, batch, true);
    try {
      const [ports, globals, target] = tensors as [TfCore.Tensor, TfCore.Tensor, TfCore.Tensor];
      const loss = await this.model.trainOnBatch([ports, globals], target);
      return Array.isArray(loss) ? loss[0]! : loss;
    } finally {
      this.#tf.core.dispose(tensors);
    }
  }

  /** A copy of every weight's values, in the model's order. */
  weightValues(): Float32Array[] {
    return this.model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
  }

  /** Sets every weight from `values`, in the model's order. */
  setWeightValues(values: readonly Float32Array[]): void {
    const { core } = this.#tf;
    const tensors = this.model.weights.map((w, i) => core.tensor(values[i]!, w.shape as number[]));
    try {
      this.model.setWeights(tensors);
    } finally {
      core.dispose(tensors);
    }
  }

  /**
   * Dropout reads its seed at every call; a seeded layer would otherwise drop the same units in
   * every batch. Varying it per batch from the fit's generator keeps fits repeatable.
   */
  setDropoutSeed(seed: number): void {
    if (this.#dropout) Object.assign(this.#dropout, { seed });
  }

  dispose(): void {
    this.model.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Input tensors (and the target, the last rounds) of the windows at `indices`. */
  #tensors(windows: WindowBatch, indices: readonly number[], withTarget: boolean): TfCore.Tensor[] {
    const { core } = this.#tf;
    const { window } = this.#config;
    const { length, binFeatures, bins, channels } = this.#layout;
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
  #predict(windows: WindowBatch, indices: readonly number[]): Float32Array {
    const { core } = this.#tf;
    const inputs = this.#tensors(windows, indices, false);
    try {
      return core.tidy(() => {
        const out = this.model.predict(inputs, { batchSize: PREDICT_BATCH }) as TfCore.Tensor;
        return out.dataSync() as Float32Array;
      });
    } finally {
      core.dispose(inputs);
    }
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
