/**
 * The detector's shape and training settings: what a saved model carries with its weights, so
 * that it is rebuilt exactly.
 *
 * @module
 */
import { DEFAULT_BINS, featureLayout } from "./feature_layout.ts";

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
  /**
   * A bin's count of sockets that do not listen is divided by at least this many times the
   * squared error of one such socket: one client connection more or less is ordinary.
   */
  socketFloor: number;
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
  socketFloor: 1,
  scoreTop: 1,
  errorMemory: 1440,
});

/** Checks and completes a configuration; throws `RangeError` naming a bad setting. */
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
  if (
    !(c.learningRate > 0) || !(c.errorFloor > 0) || !(c.channelFloor >= 0) ||
    !(c.socketFloor >= 0)
  ) {
    throw new RangeError(
      "Detector learningRate and errorFloor must be positive, channelFloor and socketFloor " +
        "not negative",
    );
  }
  if (!Number.isInteger(c.seed)) {
    throw new RangeError(`Detector seed must be an integer: got ${c.seed}`);
  }
  return c;
}
