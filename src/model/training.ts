/**
 * The training loop: Adam on mean squared error, in shuffled mini-batches, with early stopping on
 * a held-out share of the windows; the best epoch's weights are kept. Seeded throughout, so the
 * same windows and seed give the same weights.
 *
 * @module
 */
import type { DetectorConfig } from "./config.ts";
import type { Network } from "./network.ts";
import { mulberry32 } from "../random.ts";
import type { Tf } from "./tf.ts";
import type { WindowBatch } from "./windows.ts";

/** Options of a fit. */
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

/**
 * Trains `network` on `windows`; leaves the best epoch's weights in it. `seconds` is left to the
 * caller, whose fit includes more than the loop.
 */
export async function trainNetwork(
  tf: Tf,
  network: Network,
  config: Readonly<DetectorConfig>,
  windows: WindowBatch,
  options: FitOptions = {},
): Promise<TrainingMetrics> {
  const maxEpochs = options.maxEpochs ?? 10;
  const patience = options.patience ?? 2;
  const minDelta = options.minDelta ?? 0.01;
  const split = options.validationSplit ?? 0.2;
  const seed = options.seed ?? config.seed;
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

  const optimizer = tf.core.train.adam(config.learningRate);
  network.model.compile({ optimizer, loss: "meanSquaredError" });
  let best = Infinity;
  let bestWeights: Float32Array[] | null = null;
  let waited = 0;
  try {
    for (let epoch = 1; epoch <= maxEpochs; epoch++) {
      const batches = shuffled(train, random);
      let lossSum = 0;
      for (let start = 0; start < batches.length; start += config.batchSize) {
        const batch = batches.slice(start, start + config.batchSize);
        network.setDropoutSeed(Math.floor(random() * 2 ** 31));
        lossSum += (await network.trainOnBatch(windows, batch)) * batch.length;
      }
      metrics.trainLoss.push(lossSum / Math.max(1, train.length));
      metrics.epochs = epoch;
      const monitored = validation.length > 0
        ? network.loss(windows, validation)
        : metrics.trainLoss[epoch - 1]!;
      if (validation.length > 0) metrics.validationLoss.push(monitored);
      if (monitored < best) {
        // Keep the best weights whatever the gain, but only a real gain resets the patience.
        if (monitored < best * (1 - minDelta)) waited = 0;
        else waited++;
        best = monitored;
        metrics.bestEpoch = epoch;
        bestWeights = network.weightValues();
      } else waited++;
      if (waited >= patience) {
        metrics.stoppedEarly = epoch < maxEpochs;
        break;
      }
    }
  } finally {
    network.setDropoutSeed(config.seed);
    optimizer.dispose();
  }
  if (bestWeights) network.setWeightValues(bestWeights);
  return metrics;
}

/** The integers `from … to − 1`. */
export function range(from: number, to: number): number[] {
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
