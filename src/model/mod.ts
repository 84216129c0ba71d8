/**
 * The model of `pad detect`, independent of SQLite: feature encoding, windows, the CNN-LSTM
 * autoencoder, the threshold and attribution. Importing this module does not load TensorFlow.js;
 * {@linkcode createDetector} and {@linkcode loadDetector} do, on first use.
 *
 * The routine these were measured with (tests/model_detection_test.ts, bench/detect_bench.ts):
 *
 * 1. Warm-up: with no model, `createDetector(config, seed)` and `fit` on the warm-up rounds
 *    (`maxEpochs` 20 is fine there: it is done once).
 * 2. Every hour, for the new complete rounds, oldest first, with the `W − 1` rounds before them
 *    as context (`W` = `detector.config.window`):
 *
 * ```ts
 * const layout = detector.layout;
 * const encoded = [...context, ...fresh].map((r) => encodeRound(r, layout));
 * const windows = buildWindows(encoded, detector.config.window, context.length);
 * const { scores, errors } = detector.score(windows);
 * // flag where threshold.isAnomalous(scores[i]) (never while !threshold.ready), report
 * // attribute(errors[i], fresh[i], layout) for each flagged round
 * const normal = scores.flatMap((s, i) => (threshold.isAnomalous(s) ? [] : [i]));
 * threshold.observe(normal.map((i) => scores[i]!));
 * await detector.fit(selectWindows(windows, normal) + replay); // see below
 * // save detector.save() and threshold.toJSON() together, in one transaction
 * ```
 *
 * **Replay**: refit on the new normal rounds *and* about as many normal rounds drawn at random
 * from the last day (each with its own `W − 1` rounds of context: build their windows the same
 * way and pass one batch, e.g. encode all and `selectWindows`). Refitting on one hour alone lets
 * the network drift towards that hour and away from the rest of the day: in the synthetic runs it
 * made whole hours of normal rounds score 10–15 where they scored 3, and early false alarms; with
 * replay it did not. It doubles the refit time (about 4 s, see the benchmark).
 *
 * @module
 */

export type { DnsSummary, OccupiedPort, RoundData, TrafficRow } from "../round.ts";
export type { Protocol, TrafficProtocol } from "../round.ts";
export {
  binFeatureIndex,
  CHANNELS,
  DEFAULT_BINS,
  describeFeature,
  ENCODING_VERSION,
  featureLayout,
  globalFeatureIndex,
  GLOBALS,
  portBin,
  scoredFeatures,
} from "./feature_layout.ts";
export type { Channel, FeatureLayout, FeatureName, Global } from "./feature_layout.ts";
export { encodeRound } from "./features.ts";
export { buildWindows, selectWindows } from "./windows.ts";
export type { WindowBatch } from "./windows.ts";
export { DEFAULT_CONFIG, resolveConfig } from "./config.ts";
export type { DetectorConfig } from "./config.ts";
export { createDetector, loadDetector, ModelFormatError } from "./detector.ts";
export type { Detector, SavedModel, ScoreResult } from "./detector.ts";
export type { FitOptions, TrainingMetrics } from "./training.ts";
export { DEFAULT_THRESHOLD_OPTIONS, Threshold } from "./threshold.ts";
export type { TailFit, ThresholdOptions, ThresholdState } from "./threshold.ts";
export { attribute } from "./attribution.ts";
export type { AttributionOptions, PortContribution } from "./attribution.ts";
