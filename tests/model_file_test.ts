import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createDetector, type Detector, type DetectorConfig } from "../src/model/mod.ts";
import { encodeRound, featureLayout } from "../src/model/mod.ts";
import {
  contentOfSavedModel,
  decodeModelFile,
  encodeModelFile,
  type ModelContent,
  type ModelFile,
  ModelFileError,
  type NamedModelFile,
} from "../src/model/model_file.ts";
import { readModelFile, restoreDetector, writeModelFile } from "../src/model/model_file_io.ts";
import { checkMergeable, mergeModelContents } from "../src/model/model_merge.ts";
import { Threshold } from "../src/model/threshold.ts";
import { buildWindows, type WindowBatch } from "../src/model/windows.ts";
import { tempDir } from "../fixtures/pad_cli.ts";
import { generateHistory } from "../fixtures/synthetic.ts";
import { SMALL_MODEL } from "./support/small_model.ts";

function windows(history: number, rounds: number, window = SMALL_MODEL.window!): WindowBatch {
  const layout = featureLayout(SMALL_MODEL.bins);
  const encoded = generateHistory({ seed: history, rounds }).map((r) => encodeRound(r, layout));
  return buildWindows(encoded, window);
}

/** A detector of `config` trained on `rounds` rounds of the synthetic host `history`. */
async function trained(history: number, rounds: number, config: Partial<DetectorConfig> = {}) {
  const detector = await createDetector({ ...SMALL_MODEL, ...config }, 1);
  await detector.fit(windows(history, rounds, detector.config.window), { maxEpochs: 2 });
  return detector;
}

function contentOf(detector: Detector): ModelContent {
  const threshold = new Threshold({}, Array.from({ length: 80 }, (_, i) => 1 + (i % 7) / 3));
  return contentOfSavedModel(detector.save(), {
    trainedUntil: Date.UTC(2026, 2, 2, 3),
    threshold: threshold.value,
    thresholdState: threshold.toJSON(),
    source: { kind: "export", version: 7, created: "2026-03-02T03:00:00.000Z" },
  });
}

function named(name: string, detector: Detector): NamedModelFile {
  return { name, file: decodeModelFile(encodeModelFile(contentOf(detector)), name) };
}

/** The file's header line as an object, and the offsets around it. */
function split(bytes: Uint8Array) {
  const first = bytes.indexOf(0x0a);
  const end = bytes.indexOf(0x0a, first + 1);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(first + 1, end)));
  return { first, end, header };
}

/** The file with its header line replaced and a correct digest: what a forger could write. */
function reseal(bytes: Uint8Array, edit: (header: Record<string, unknown>) => unknown): Uint8Array {
  const { first, end, header } = split(bytes);
  const line = new TextEncoder().encode(JSON.stringify(edit(header) ?? header));
  return sealed(bytes.subarray(0, first + 1), line, bytes.subarray(end, bytes.length - 32));
}

function sealed(...parts: Uint8Array[]): Uint8Array {
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  const out = new Uint8Array(body.length + 32);
  out.set(body);
  out.set(createHash("sha256").update(body).digest(), body.length);
  return out;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeModelFile(bytes, "host.padmodel"), (error: Error) => {
    assert.ok(error instanceof ModelFileError, String(error));
    assert.match(error.message, /^Model file host\.padmodel /);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

function tensor(file: ModelContent, name: string): Float32Array {
  return file.tensors.find((t) => t.name === name)!.values;
}

Deno.test("a model file holds a magic line, a JSON header with tfjs weight specs, the weights and their SHA-256", async () => {
  using detector = await trained(11, 30);
  const content = contentOf(detector);
  const bytes = encodeModelFile(content);
  const { first, end, header } = split(bytes);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, first)), "pad-model 1");
  assert.equal(header.format, 1);
  assert.equal(header.encoding, "pad-features-v3/bins-64");
  assert.equal(header.config.window, 3);
  assert.equal(header.roundsTrainedOn, 30);
  assert.equal(header.thresholdState.scores.length, 80);
  assert.ok(header.weightSpecs.every((s: { dtype: string }) => s.dtype === "float32"));
  assert.ok(header.weightSpecs.some((s: { name: string }) => s.name === "lstm/kernel"));
  assert.equal(header.weightsBytes, bytes.length - (end + 1) - 32);
  const digest = createHash("sha256").update(bytes.subarray(0, bytes.length - 32)).digest("hex");
  assert.equal(Buffer.from(bytes.subarray(bytes.length - 32)).toString("hex"), digest);

  const file = decodeModelFile(bytes, "host.padmodel");
  assert.equal(file.sha256, digest);
  assert.deepEqual(file.tensors, content.tensors);
  assert.deepEqual(file.config, content.config);
  assert.deepEqual(file.thresholdState, content.thresholdState);
  assert.equal(file.topology, content.topology);
  // The file restores a detector that scores exactly as the one saved.
  using restored = await restoreDetector("host.padmodel", file);
  const batch = windows(12, 20);
  assert.deepEqual(restored.score(batch).scores, detector.score(batch).scores);
});

Deno.test("decodeModelFile() refuses a truncated file, wherever it was cut", async () => {
  using detector = await trained(11, 20);
  const bytes = encodeModelFile(contentOf(detector));
  const { end } = split(bytes);
  for (const length of [bytes.length - 1, bytes.length - 33, end + 100, end + 1]) {
    refused(bytes.subarray(0, length), new RegExp(`is truncated: ${length} of ${bytes.length}`));
  }
  refused(bytes.subarray(0, end - 10), /is truncated: .*its header has no end/);
  refused(bytes.subarray(0, 7), /is truncated: 7 bytes, not even its first line/);
  const appended = new Uint8Array(bytes.length + 5);
  appended.set(bytes);
  refused(appended, /has 5 bytes more than its header says/);
});

Deno.test("decodeModelFile() refuses a file with one byte altered, in the weights, the header or the digest", async () => {
  using detector = await trained(11, 20);
  const bytes = encodeModelFile(contentOf(detector));
  const { end } = split(bytes);
  const headerText = new TextDecoder().decode(bytes.subarray(0, end));
  const inHeader = headerText.indexOf('"roundsTrainedOn":20') + '"roundsTrainedOn":'.length;
  for (const at of [end + 1 + 400, bytes.length - 40, inHeader, bytes.length - 1]) {
    const altered = bytes.slice();
    altered[at] = at === inHeader ? "3".charCodeAt(0) : altered[at]! ^ 0x01;
    refused(altered, /was altered or damaged: its SHA-256 does not match/);
  }
});

Deno.test("decodeModelFile() refuses other files, an unknown format version and a header that is not JSON", async () => {
  using detector = await trained(11, 20);
  const bytes = encodeModelFile(contentOf(detector));
  const text = (s: string) => new TextEncoder().encode(s);
  refused(text("PK\x03\x04 this is a zip archive"), /is not a pad model file/);
  refused(detector.save().weights, /is not a pad model file/); // the database's weights blob
  refused(new Uint8Array(), /is truncated: 0 bytes/);
  const renamed = bytes.slice();
  renamed.set(text("pad-modal"), 0);
  refused(renamed, /is not a pad model file \(it does not begin with "pad-model 1"\)/);
  const newer = bytes.slice();
  newer.set(text("pad-model 2"), 0);
  refused(newer, /has format version 2; this pad \(.*\) reads version 1: upgrade pad/);
  refused(sealed(text("pad-model 1\n{not json\n")), /header that is not valid JSON/);
});

Deno.test("decodeModelFile() refuses a resealed header that lacks a field or whose weight specs do not add up", async () => {
  using detector = await trained(11, 20);
  const bytes = encodeModelFile(contentOf(detector));
  refused(reseal(bytes, (h) => void delete h.config), /"config" is not an object/);
  refused(
    reseal(bytes, (h) => ({ ...h, config: { ...(h.config as object), dropout: undefined } })),
    /"config" lacks dropout/,
  );
  refused(
    reseal(bytes, (h) => ({ ...h, config: { ...(h.config as object), attention: 4 } })),
    /settings this pad does not know \(attention\): upgrade pad/,
  );
  refused(reseal(bytes, (h) => ({ ...h, roundsTrainedOn: 0 })), /untrained/);
  refused(
    reseal(bytes, (h) => {
      const specs = h.weightSpecs as { shape: number[] }[];
      specs[0]!.shape = [...specs[0]!.shape, 2];
    }),
    /its weight specs hold \d+ bytes, "weightsBytes" says \d+/,
  );
  refused(
    reseal(bytes, (h) => ({ ...h, thresholdState: { version: 1, scores: ["x"] } })),
    /"thresholdState": .*not a finite number/,
  );
});

Deno.test("restoreDetector() refuses weight specs that do not fit the topology, and another feature encoding", async () => {
  using detector = await trained(11, 20);
  const bytes = encodeModelFile(contentOf(detector));
  // Same bytes in all, so only loading the topology can tell: conv/kernel [1,3,16,4] → [1,3,4,16].
  const swapped = reseal(bytes, (h) => {
    const spec = (h.weightSpecs as { name: string; shape: number[] }[])
      .find((s) => s.name === "conv/kernel")!;
    spec.shape = [spec.shape[0]!, spec.shape[1]!, spec.shape[3]!, spec.shape[2]!];
  });
  const file = decodeModelFile(swapped, "swapped.padmodel");
  await assert.rejects(
    restoreDetector("swapped.padmodel", file),
    /^ModelFileError: Model file swapped.padmodel cannot be loaded: .*"conv\/kernel" of shape \[1,3,16,4\]/,
  );
  const other = decodeModelFile(
    reseal(bytes, (h) => ({ ...h, encoding: "pad-features-v1/bins-64" })),
    "v1.padmodel",
  );
  await assert.rejects(
    restoreDetector("v1.padmodel", other),
    /Model file v1.padmodel was trained on feature encoding "pad-features-v1\/bins-64"; this pad \(.*\) encodes "pad-features-v3\/bins-64"/,
  );
});

Deno.test("merging two copies of a model gives a model that scores the same rounds the same", async () => {
  using detector = await trained(11, 30);
  const a = named("a.padmodel", detector);
  const merged = mergeModelContents([a, { ...a, name: "a-again.padmodel" }]);
  assert.equal(merged.roundsTrainedOn, 60);
  using restored = await restoreDetector("merged", merged);
  const batch = windows(13, 30);
  const expected = detector.score(batch).scores;
  const actual = restored.score(batch).scores;
  assert.equal(actual.length, expected.length);
  actual.forEach((s, i) => assert.ok(Math.abs(s - expected[i]!) <= 1e-5 * expected[i]!, `${i}`));
});

Deno.test("a merge averages every weight by the rounds each model was trained on (FedAvg), and loads and scores", async () => {
  // The same seed (as hosts running pad detect with the same --seed), different hosts and histories.
  using one = await trained(11, 30);
  using two = await trained(21, 50);
  const a = named("a.padmodel", one), b = named("b.padmodel", two);
  const merged = decodeModelFile(encodeModelFile(mergeModelContents([a, b])), "m.padmodel");
  assert.equal(merged.roundsTrainedOn, 80);
  for (const name of ["lstm/kernel", "decoder/bias", "pad/error_moments"]) {
    const x = tensor(a.file, name), y = tensor(b.file, name), m = tensor(merged, name);
    assert.ok(x.some((v, i) => Math.abs(v - y[i]!) > 1e-4), `${name} differs between the hosts`);
    m.forEach((v, i) => {
      const expected = (30 * x[i]! + 50 * y[i]!) / 80;
      assert.ok(Math.abs(v - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${name}[${i}]`);
    });
  }
  // Scores of different hosts are not comparable: the merge carries no normal scores.
  assert.equal(merged.threshold, null);
  assert.deepEqual(merged.thresholdState.scores, []);
  assert.equal(merged.source.kind, "merge");
  assert.deepEqual(
    merged.source.kind === "merge" && merged.source.inputs.map((i) => i.sha256),
    [a.file.sha256, b.file.sha256],
  );
  using restored = await restoreDetector("m.padmodel", merged);
  const scores = restored.score(windows(31, 30)).scores;
  assert.equal(scores.length, 30);
  assert.ok(scores.every((s) => Number.isFinite(s) && s >= 0));
});

Deno.test("checkMergeable() refuses another configuration or feature encoding and names what differs", async () => {
  using base = await trained(11, 20);
  using wider = await trained(11, 20, { window: 4 });
  using seeded = await createDetector(SMALL_MODEL, 2);
  await seeded.fit(windows(11, 20), { maxEpochs: 1 });
  const a = named("a.padmodel", base);
  assert.throws(
    () => checkMergeable([a, named("w.padmodel", wider)]),
    /^ModelFileError: Cannot merge w.padmodel with a.padmodel: window 3 vs 4 \(a.padmodel first\); merge only models of the same configuration and encoding/,
  );
  assert.throws(
    () => checkMergeable([a, named("s.padmodel", seeded)]),
    /Cannot merge s.padmodel with a.padmodel: seed 1 vs 2 /,
  );
  const other: ModelFile = { ...a.file, encoding: "pad-features-v1/bins-64" };
  assert.throws(
    () => mergeModelContents([a, { name: "v1.padmodel", file: other }]),
    /Cannot merge v1.padmodel with a.padmodel: feature encoding "pad-features-v3\/bins-64" vs "pad-features-v1\/bins-64"/,
  );
});

Deno.test("writeModelFile() replaces a file atomically with mode 0600, and a bad path is one clear error", async () => {
  using detector = await trained(11, 20);
  using dir = tempDir();
  const path = `${dir.path}/host.padmodel`;
  Deno.writeTextFileSync(path, "pad-model 1\nold", { mode: 0o644 });
  const bytes = encodeModelFile(contentOf(detector));
  writeModelFile(path, bytes, { flag: "FILE" });
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  assert.deepEqual(readModelFile(path).tensors, contentOf(detector).tensors);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["host.padmodel"]); // no temporary left
  // Anything but a model file is kept: `pad model export pad.db` must not replace the database.
  Deno.writeTextFileSync(`${dir.path}/pad.db`, "SQLite format 3\0");
  assert.throws(
    () => writeModelFile(`${dir.path}/pad.db`, bytes, { flag: "FILE" }),
    /^ModelFileError: Cannot write model file .*pad.db: it exists and is not a pad model file \(kept\); remove it or choose another name$/,
  );
  assert.equal(Deno.readTextFileSync(`${dir.path}/pad.db`), "SQLite format 3\0");
  assert.throws(
    () => writeModelFile(`${dir.path}/missing/host.padmodel`, bytes, { flag: "FILE" }),
    /^ModelFileError: Cannot write .*\/missing\/host.padmodel: the directory .*missing does not exist; create it$/,
  );
  assert.throws(
    () => readModelFile(`${dir.path}/nothing.padmodel`),
    /^ModelFileError: Cannot read model file .*\/nothing.padmodel: no such file or directory$/,
  );
  assert.throws(
    () => readModelFile(dir.path),
    /^ModelFileError: Cannot read model file .*: it is a directory$/,
  );
});
