/**
 * The hourly detect job, timed: score 60 new rounds, then one refit with early stopping on them
 * and on 60 rounds replayed from the previous hours (the recommended routine: see
 * src/model/mod.ts), on a model already trained on a few hours of synthetic history
 * (tests/support/synthetic.ts).
 * Prints the import time of TensorFlow.js, the model's build time and size, the encoding, score,
 * refit, save and load times, and the peak resident memory.
 *
 *     deno run -A bench/detect_bench.ts [--hours N] [--config '{"bins":256}'] [--sweep]
 *
 * `--sweep` times a few shapes next to the default (window, bins, filters, pool): the figures
 * the default configuration was chosen from.
 *
 * @module
 */

const importStart = performance.now();
const { loadTf } = await import("../src/model/tf.ts");
await loadTf();
const importMs = performance.now() - importStart;

const { createDetector, DEFAULT_CONFIG, loadDetector } = await import(
  "../src/model/autoencoder.ts"
);
const { encodeRound, featureLayout } = await import("../src/model/features.ts");
const { buildWindows, selectWindows } = await import("../src/model/windows.ts");
const { generateHistory, prng } = await import("../tests/support/synthetic.ts");
type DetectorConfig = import("../src/model/autoencoder.ts").DetectorConfig;

const HOUR = 60;
/** History the model learns before the timed jobs start. */
const PRETRAIN_HOURS = 6;
/** Normal rounds of the past day replayed in each refit, next to the new hour's. */
const REPLAY = 60;

let peakRss = Deno.memoryUsage().rss;
const sample = () => (peakRss = Math.max(peakRss, Deno.memoryUsage().rss));

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i < 0 ? undefined : Deno.args[i + 1];
}

const hours = Number(flag("--hours") ?? 5);
if (!Number.isInteger(hours) || hours < 1) {
  throw new RangeError(`--hours must be a positive integer: got "${flag("--hours")}"`);
}
const override = JSON.parse(flag("--config") ?? "{}") as Partial<DetectorConfig>;

interface Figures {
  config: DetectorConfig;
  buildMs: number;
  parameters: number;
  encodeMs: number;
  scoreMs: number[];
  refitMs: number[];
  epochs: number[];
  epochMs: number;
  saveMs: number;
  loadMs: number;
  blobBytes: number;
}

async function run(config: Partial<DetectorConfig>): Promise<Figures> {
  const buildStart = performance.now();
  const detector = await createDetector(config);
  const buildMs = performance.now() - buildStart;
  const { window, bins } = detector.config;
  const layout = featureLayout(bins);
  const rounds = generateHistory({ seed: 42, rounds: (PRETRAIN_HOURS + hours) * HOUR });
  const encodeStart = performance.now();
  const encoded = rounds.map((r) => encodeRound(r, layout));
  const encodeMs = ((performance.now() - encodeStart) / rounds.length) * HOUR;
  sample();

  const all = buildWindows(encoded, window);
  await detector.fit(selectWindows(all, range(0, PRETRAIN_HOURS * HOUR)), { maxEpochs: 4 });
  const random = prng(7);
  sample();

  const scoreMs: number[] = [], refitMs: number[] = [], epochs: number[] = [];
  let epochTotal = 0, epochCount = 0;
  for (let h = 0; h < hours; h++) {
    const first = (PRETRAIN_HOURS + h) * HOUR;
    const batch = buildWindows(
      encoded.slice(first - (window - 1), first + HOUR),
      window,
      window - 1,
    );
    let t = performance.now();
    detector.score(batch);
    scoreMs.push(performance.now() - t);
    const replay = Array.from({ length: REPLAY }, () => Math.floor(random() * first));
    t = performance.now();
    const metrics = await detector.fit(
      selectWindows(all, [...range(first, first + HOUR), ...replay]),
    );
    refitMs.push(performance.now() - t);
    epochs.push(metrics.epochs);
    epochTotal += metrics.seconds * 1000;
    epochCount += metrics.epochs;
    sample();
  }
  let t = performance.now();
  const saved = detector.save();
  const saveMs = performance.now() - t;
  t = performance.now();
  const loaded = await loadDetector(saved);
  const loadMs = performance.now() - t;
  const figures = {
    config: { ...detector.config },
    buildMs,
    parameters: detector.parameterCount,
    encodeMs,
    scoreMs,
    refitMs,
    epochs,
    epochMs: epochTotal / epochCount,
    saveMs,
    loadMs,
    blobBytes: saved.weights.length,
  };
  loaded.dispose();
  detector.dispose();
  sample();
  return figures;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

const main = await run(override);
const c = main.config;
console.log(
  `pad detect benchmark: ${hours} hourly jobs of ${HOUR} rounds, after ${PRETRAIN_HOURS} h of pretraining`,
);
console.log(
  `config: window ${c.window}, bins ${c.bins}, conv ${c.filters}×${c.kernel}, pool ${c.pool}, ` +
    `LSTM ${c.lstmUnits}, code ${c.bottleneck}, batch ${c.batchSize}`,
);
console.log(`TensorFlow.js import + cpu backend  ${ms(importMs)}`);
console.log(`model build                        ${ms(main.buildMs)}`);
console.log(`parameters                         ${main.parameters}`);
console.log(`encode 60 rounds                   ${ms(main.encodeMs)}`);
console.log(
  `score 60 rounds                    ${ms(median(main.scoreMs))} median, ${
    ms(Math.max(...main.scoreMs))
  } max`,
);
console.log(
  `refit on 60 + ${REPLAY} replayed rounds   ${ms(median(main.refitMs))} median, ${
    ms(Math.max(...main.refitMs))
  } max (epochs ${main.epochs.join(", ")}; ${ms(main.epochMs)} per epoch)`,
);
const job = main.scoreMs.map((s, i) => s + main.refitMs[i]!);
console.log(
  `hourly job (score + refit)         ${ms(median(job))} median, ${ms(Math.max(...job))} max`,
);
console.log(
  `save / load                        ${ms(main.saveMs)} / ${ms(main.loadMs)} (weights blob ${
    (main.blobBytes / 1024).toFixed(0)
  } KiB)`,
);
console.log(`peak RSS                           ${(peakRss / 2 ** 20).toFixed(0)} MiB`);

if (Deno.args.includes("--sweep")) {
  const shapes: Partial<DetectorConfig>[] = [
    { window: 5 },
    { window: 20 },
    { bins: 256 },
    { bins: 256, pool: 4 },
    { bins: 64, pool: 4 },
    { filters: 16 },
    { lstmUnits: 64 },
  ];
  console.log(
    "\nshape                                 params  score 60  per epoch  refit (median)",
  );
  for (const shape of [{}, ...shapes]) {
    const f = await run({ ...override, ...shape });
    const label = Object.keys(shape).length === 0 ? "default" : JSON.stringify(shape);
    console.log(
      `${label.padEnd(36)}  ${String(f.parameters).padStart(6)}  ${
        ms(median(f.scoreMs)).padStart(8)
      }  ` +
        `${ms(f.epochMs).padStart(9)}  ${ms(median(f.refitMs)).padStart(8)}`,
    );
  }
}
console.log(`(defaults: ${JSON.stringify(DEFAULT_CONFIG)})`);
