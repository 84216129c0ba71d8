import assert from "node:assert/strict";
import {
  createDetector,
  DEFAULT_CONFIG,
  loadDetector,
  ModelFormatError,
  type SavedModel,
} from "../src/model/mod.ts";
import {
  encodeRound,
  featureLayout,
  globalFeatureIndex,
  scoredFeatures,
} from "../src/model/mod.ts";
import { buildWindows, type WindowBatch } from "../src/model/windows.ts";
import { SMALL_MODEL } from "./support/small_model.ts";
import { generateHistory } from "../fixtures/synthetic.ts";

function windows(bins: number, window: number, rounds = 40, seed = 11): WindowBatch {
  const layout = featureLayout(bins);
  const encoded = generateHistory({ seed, rounds }).map((r) => encodeRound(r, layout));
  return buildWindows(encoded, window);
}

async function trained(seed: number, config = SMALL_MODEL) {
  const detector = await createDetector(config, seed);
  const batch = windows(detector.config.bins, detector.config.window);
  const metrics = await detector.fit(batch, { maxEpochs: 3 });
  return { detector, batch, metrics };
}

Deno.test("createDetector() builds the default network: conv, pool, dropout, LSTM over time, code, decoder", async () => {
  using detector = await createDetector();
  assert.deepEqual(detector.config, DEFAULT_CONFIG);
  const layout = featureLayout(DEFAULT_CONFIG.bins);
  const topology = JSON.parse(detector.save().topology);
  const layers = topology.config.layers.map((l: { class_name: string; name: string }) =>
    l.class_name
  );
  assert.deepEqual(layers, [
    "InputLayer",
    "Conv2D",
    "MaxPooling2D",
    "Dropout",
    "Reshape",
    "InputLayer",
    "Concatenate",
    "LSTM",
    "Dense",
    "Dense",
  ]);
  const code = topology.config.layers.find((l: { name: string }) => l.name === "code");
  assert.ok(code.config.units < layout.length, "undercomplete");
  assert.ok(detector.parameterCount > 10_000 && detector.parameterCount < 1_000_000);
});

Deno.test("Detector.score() refuses to score before the first fit", async () => {
  using detector = await createDetector(SMALL_MODEL, 1);
  assert.throws(
    () => detector.score(windows(64, 3, 5)),
    /not been trained/,
  );
});

Deno.test("Detector.fit() stops early on the validation loss and keeps the best epoch", async () => {
  const { detector, metrics } = await trained(2);
  using _ = detector;
  assert.equal(metrics.windows, 40);
  assert.equal(metrics.validationWindows, 8);
  assert.equal(metrics.trainWindows, 32);
  assert.ok(metrics.epochs >= 1 && metrics.epochs <= 3);
  assert.equal(metrics.validationLoss.length, metrics.epochs);
  const best = Math.min(...metrics.validationLoss);
  assert.equal(metrics.validationLoss[metrics.bestEpoch - 1], best);
  assert.equal(detector.roundsTrainedOn, 40);
  const stopped = await detector.fit(windows(64, 3), { maxEpochs: 50, patience: 1, minDelta: 0.5 });
  assert.ok(stopped.stoppedEarly && stopped.epochs < 50, JSON.stringify(stopped));
});

Deno.test("the same seed gives the same scores; another seed other scores", async () => {
  const a = await trained(7);
  const b = await trained(7);
  const c = await trained(8);
  try {
    const sa = a.detector.score(a.batch).scores;
    assert.deepEqual(b.detector.score(b.batch).scores, sa);
    assert.deepEqual(a.metrics.trainLoss, b.metrics.trainLoss);
    assert.notDeepEqual(c.detector.score(c.batch).scores, sa);
    assert.ok(sa.every((s) => Number.isFinite(s) && s >= 0));
  } finally {
    for (const t of [a, b, c]) t.detector.dispose();
  }
});

Deno.test("save() and loadDetector() round-trip exactly, and training goes on identically", async () => {
  const { detector, batch } = await trained(3);
  using original = detector;
  const saved = original.save();
  assert.equal(saved.encoding, featureLayout(64).id);
  assert.equal(saved.roundsTrainedOn, 40);
  using loaded = await loadDetector(structuredClone(saved));
  assert.deepEqual(loaded.score(batch), original.score(batch));
  assert.deepEqual(loaded.save().weights, saved.weights);
  const more = windows(64, 3, 30, 99);
  const m1 = await original.fit(more, { maxEpochs: 2, seed: 5 });
  const m2 = await loaded.fit(more, { maxEpochs: 2, seed: 5 });
  assert.deepEqual(m2.trainLoss, m1.trainLoss);
  assert.deepEqual(loaded.score(batch).scores, original.score(batch).scores);
  assert.equal(loaded.roundsTrainedOn, 70);
});

Deno.test("loadDetector() refuses damaged or mismatched models with a clear error", async () => {
  const { detector } = await trained(4);
  let saved: SavedModel;
  try {
    saved = detector.save();
  } finally {
    detector.dispose();
  }
  const cases: [string, SavedModel, RegExp][] = [
    [
      "truncated",
      { ...saved, weights: saved.weights.slice(0, saved.weights.length - 100) },
      /damaged or truncated/,
    ],
    ["empty", { ...saved, weights: new Uint8Array() }, /not a pad weights blob/],
    ["flipped", { ...saved, weights: flip(saved.weights, 5000) }, /damaged or truncated/],
    ["another encoding", { ...saved, encoding: "pad-features-v0/bins-64" }, /feature encoding/],
    [
      "another topology",
      { ...saved, topology: saved.topology.replace('"units":8', '"units":9') },
      /topology/,
    ],
    ["a bad config", { ...saved, config: { ...saved.config, window: 0 } }, /invalid configuration/],
  ];
  for (const [name, model, message] of cases) {
    await assert.rejects(() => loadDetector(model), (error: Error) => {
      assert.ok(error instanceof ModelFormatError, `${name}: ${error}`);
      assert.match(error.message, message, name);
      return true;
    });
  }
});

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = copy[at]! ^ 0x40;
  return copy;
}

Deno.test("Detector.score() leaves traffic out of rounds that were not captured", async () => {
  const { detector } = await trained(5);
  using _ = detector;
  const layout = featureLayout(64);
  const rounds = generateHistory({ seed: 21, rounds: 6 });
  const encoded = rounds.map((r, i) =>
    encodeRound(i === 5 ? { ...r, captured: false } : r, layout)
  );
  const { errors } = detector.score(buildWindows(encoded, 3, 5));
  const mask = scoredFeatures(layout, encoded[5]!);
  assert.equal(mask[globalFeatureIndex(layout, "udp_packets_in")], 0);
  const error = errors[0]!;
  for (let f = 0; f < layout.length; f++) if (mask[f] === 0) assert.equal(error[f], 0);
  assert.equal(error[globalFeatureIndex(layout, "hour_sin")], 0);
});

Deno.test("Detector rejects windows of another shape", async () => {
  const { detector } = await trained(6);
  using _ = detector;
  assert.throws(() => detector.score(windows(64, 4, 5)), RangeError);
  assert.throws(() => detector.score(windows(128, 3, 5)), RangeError);
});

Deno.test("the model prints nothing: no TensorFlow.js banner, no warnings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/quiet.ts`;
    const model = new URL("../src/model/mod.ts", import.meta.url).href;
    const synthetic = new URL("../fixtures/synthetic.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { buildWindows, createDetector, encodeRound, featureLayout } from "${model}";
import { generateHistory } from "${synthetic}";
const detector = await createDetector({ bins: 64, window: 3, filters: 4, lstmUnits: 40 });
const layout = featureLayout(64);
const batch = buildWindows(generateHistory({ seed: 1, rounds: 12 }).map((r) => encodeRound(r, layout)), 3);
await detector.fit(batch, { maxEpochs: 1 });
detector.score(batch);
detector.dispose();
`,
    );
    const config = new URL("../deno.json", import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-all", "--config", config, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.equal(stdout, "");
    assert.equal(stderr, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
