import type { DetectorConfig } from "../../src/model/config.ts";

/** A small network, so model tests take seconds; the detection test runs the real sizes. */
export const SMALL_MODEL: Readonly<Partial<DetectorConfig>> = Object.freeze({
  bins: 64,
  window: 3,
  filters: 4,
  pool: 4,
  lstmUnits: 8,
  bottleneck: 4,
});
