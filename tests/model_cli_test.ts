import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runDetect } from "../src/commands/detect.ts";
import { BufferOutput } from "../src/output.ts";
import { openDatabase } from "../src/store/database.ts";
import { lockRole } from "../src/store/lock.ts";
import type { RoundData } from "../src/round.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import {
  generateHistory,
  HISTORY_START,
  injectListener,
  injectUdpFlood,
} from "../fixtures/synthetic.ts";

const HOUR = 60;

function store(db: string, rounds: RoundData[]): void {
  using conn = openDatabase(db);
  storeRoundHistory(conn, rounds);
}

/** Trains a host's model in-process (the fixture, not what is tested), few epochs for speed. */
async function detect(db: string, seed = 1): Promise<void> {
  await runDetect(
    { db, warmup: HOUR, seed, rescore: false, maxEpochs: 3, format: "text" },
    new BufferOutput(),
  );
}

function query(db: string, sql: string, ...params: number[]) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all(...params).map((r) => ({ ...r }));
}

function latest(db: string) {
  return query(db, "SELECT * FROM models ORDER BY id DESC LIMIT 1")[0]!;
}

/** One line on stderr, no stack, nothing on stdout. */
function oneLine(run: { code: number; stdout: string; stderr: string }, code: number, re: RegExp) {
  assert.equal(run.code, code, run.stderr);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.match(run.stderr, re);
}

/**
 * A host unlike the synthetic default one: a DNS server (ten times the queries) with a service
 * on 9000. A model trained elsewhere finds its normal rounds surprising.
 */
function dnsHost(seed: number, rounds: number): RoundData[] {
  return generateHistory({ seed, rounds }).map((r) =>
    injectUdpFlood(injectListener(r, 9000), 53, 10)
  );
}

Deno.test("pad model export, import and merge move models between hosts", async (t) => {
  using dir = tempDir();
  const at = (name: string) => `${dir.path}/${name}`;
  // Host A: the synthetic server; host B: the DNS server; both with detect's default seed.
  store(at("a.db"), generateHistory({ seed: 41, rounds: 2 * HOUR }));
  await detect(at("a.db"));
  const b = dnsHost(42, 3 * HOUR);
  store(at("b.db"), b.slice(0, 2 * HOUR));
  await detect(at("b.db"));

  await t.step("export writes the newest version to a 0600 file", async () => {
    const run = await runPad(["--db", at("a.db"), "model", "export", at("a.padmodel")]);
    assert.equal(run.code, 0, run.stderr);
    const model = latest(at("a.db"));
    assert.match(
      run.stdout,
      new RegExp(
        `^Exported model v${model.id} \\(trained on ${model.rounds_trained} rounds, threshold ` +
          `[0-9.]+\\) to .*a\\.padmodel: \\d+ KiB, sha256 [0-9a-f]{12}\\n$`,
      ),
    );
    assert.equal(Deno.statSync(at("a.padmodel")).mode! & 0o777, 0o600);
    const bytes = Deno.readFileSync(at("a.padmodel"));
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 12)), "pad-model 1\n");
    const b = await runPad(["--db", at("b.db"), "model", "export", at("b.padmodel")]);
    assert.equal(b.code, 0, b.stderr);
  });

  await t.step(
    "export without a model, without a database or to a missing directory is one line, exit 1",
    async () => {
      store(at("empty.db"), []);
      oneLine(
        await runPad(["--db", at("empty.db"), "model", "export", at("x.padmodel")]),
        1,
        /No model to export in .*empty\.db: run "pad detect" first/,
      );
      oneLine(
        await runPad(["--db", at("none.db"), "model", "export", at("x.padmodel")]),
        1,
        /No database at .*none\.db/,
      );
      oneLine(
        await runPad(["--db", at("a.db"), "model", "export", at("no/such/dir/x.padmodel")]),
        1,
        /Cannot write .*no\/such\/dir\/x\.padmodel: the directory .*does not exist; create it/,
      );
      Deno.copyFileSync(at("a.db"), at("damaged.db"));
      {
        using conn = new DatabaseSync(at("damaged.db"));
        conn.prepare("UPDATE models SET weights = substr(weights, 1, 1000)").run();
      }
      oneLine(
        await runPad(["--db", at("damaged.db"), "model", "export", at("x.padmodel")]),
        1,
        /Model version \d+ in .*damaged\.db is damaged \(.*\): the next "pad detect" rebuilds it/,
      );
      assert.throws(() => Deno.statSync(at("x.padmodel")), Deno.errors.NotFound);
    },
  );

  await t.step(
    "import installs the model in a fresh database, and pad detect scores with it",
    async () => {
      const fresh = at("fresh.db");
      const run = await runPad(["--db", fresh, "model", "import", at("a.padmodel")]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /^Imported .*a\.padmodel as model v1 \(trained on \d+ rounds, exported from v\d+ by pad [0-9.]+, sha256 [0-9a-f]{12}\); threshold not calibrated yet \(0 normal rounds here, 30 needed\)/,
      );
      const source = latest(at("a.db"));
      const imported = latest(fresh);
      assert.equal(imported.rounds_trained, source.rounds_trained);
      assert.equal(imported.encoding, source.encoding);
      assert.equal(imported.config, source.config);

      store(fresh, generateHistory({ seed: 43, rounds: HOUR }));
      const detected = await runPad(["--db", fresh, "detect", "--max-epochs", "2"]);
      assert.equal(detected.code, 0, detected.stderr);
      // A new model would leave its first hour unscored; the imported one scores it, and then
      // learns from it (the threshold is calibrated meanwhile: the hour is warm-up).
      const first = query(fresh, "SELECT model_id, score, verdict FROM round_scores");
      assert.equal(first.length, HOUR);
      assert.ok(first.every((s) => s.model_id === 1 && Number.isFinite(s.score)), "scored by v1");
      assert.ok(first.every((s) => s.verdict === "warmup"));
      const next = latest(fresh);
      assert.equal(next.id, 2);
      assert.ok((next.rounds_trained as number) > (source.rounds_trained as number));
    },
  );

  await t.step(
    "import refuses a truncated, altered or missing file in one line, and a running detect, and changes nothing",
    async () => {
      const bytes = Deno.readFileSync(at("a.padmodel"));
      Deno.writeFileSync(at("cut.padmodel"), bytes.subarray(0, bytes.length - 1000));
      const altered = bytes.slice();
      altered[bytes.length >> 1] = altered[bytes.length >> 1]! ^ 0x10;
      Deno.writeFileSync(at("altered.padmodel"), altered);
      const before = query(at("b.db"), "SELECT count(*) AS n FROM models")[0]!.n;
      for (
        const [file, re] of [
          ["cut.padmodel", /Model file .*cut\.padmodel is truncated: \d+ of \d+ bytes/],
          ["altered.padmodel", /Model file .*altered\.padmodel was altered or damaged/],
          ["none.padmodel", /Cannot read model file .*none\.padmodel: no such file or directory/],
        ] as const
      ) {
        oneLine(await runPad(["--db", at("b.db"), "model", "import", at(file)]), 1, re);
        oneLine(await runPad(["--db", at("new.db"), "model", "import", at(file)]), 1, re);
      }
      {
        // A running detect would save versions of the model it loaded over the imported one.
        using _detect = lockRole(at("b.db"), "detect");
        const busy = await runPad(["--db", at("b.db"), "model", "import", at("a.padmodel")]);
        assert.equal(busy.code, 4, busy.stderr);
        assert.match(busy.stderr, /Another pad detect is running/);
      }
      assert.equal(query(at("b.db"), "SELECT count(*) AS n FROM models")[0]!.n, before);
      assert.throws(() => Deno.statSync(at("new.db")), Deno.errors.NotFound);
    },
  );

  await t.step("merge averages two hosts' models; the merge imports and scores", async () => {
    const run = await runPad([
      "model",
      "merge",
      at("a.padmodel"),
      at("b.padmodel"),
      "-o",
      at("fleet.padmodel"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    const a = latest(at("a.db")).rounds_trained as number;
    const b = latest(at("b.db")).rounds_trained as number;
    assert.match(
      run.stdout,
      new RegExp(
        `^Merged 2 models \\(trained on ${a} \\+ ${b} = ${a + b} rounds\\) into .*fleet\\.padmodel`,
      ),
    );
    assert.equal(Deno.statSync(at("fleet.padmodel")).mode! & 0o777, 0o600);
    const imported = await runPad(["--db", at("a.db"), "model", "import", at("fleet.padmodel")]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stdout,
      new RegExp(
        `trained on ${a + b} rounds, a merge of 2 models .*threshold [0-9.]+ calibrated on this ` +
          `host's last ${2 * HOUR} normal rounds`,
      ),
    );
    const rescored = await runPad(["--db", at("a.db"), "detect", "--rescore"]);
    assert.equal(rescored.code, 0, rescored.stderr);
    const version = latest(at("a.db")).id as number;
    const scores = query(at("a.db"), "SELECT model_id, score FROM round_scores");
    assert.equal(scores.length, 2 * HOUR);
    assert.ok(scores.every((s) => s.model_id === version && Number.isFinite(s.score)));
  });

  await t.step(
    "merge refuses fewer than two files, and models of another seed, naming it",
    async () => {
      oneLine(
        await runPad(["model", "merge", at("a.padmodel"), "-o", at("m.padmodel")]),
        2,
        /pad model merge needs two or more model files: got 1/,
      );
      store(at("c.db"), generateHistory({ seed: 44, rounds: HOUR }));
      await detect(at("c.db"), 2);
      const exported = await runPad(["--db", at("c.db"), "model", "export", at("c.padmodel")]);
      assert.equal(exported.code, 0, exported.stderr);
      oneLine(
        await runPad([
          "model",
          "merge",
          at("a.padmodel"),
          at("c.padmodel"),
          "-o",
          at("m.padmodel"),
        ]),
        1,
        /Cannot merge .*c\.padmodel with .*a\.padmodel: seed 1 vs 2 /,
      );
      assert.throws(() => Deno.statSync(at("m.padmodel")), Deno.errors.NotFound);
    },
  );

  await t.step(
    "import calibrates the threshold on this host's rounds: no flood of false alarms",
    async () => {
      // Host B imports host A's model. Its own threshold, and the file's, were calibrated on
      // other scores: with either, the hour after the import would flag many normal rounds.
      const local = latest(at("b.db")).threshold as number;
      const header = new TextDecoder().decode(Deno.readFileSync(at("a.padmodel"))).split("\n")[1]!;
      const file = JSON.parse(header).threshold as number;
      const run = await runPad(["--db", at("b.db"), "model", "import", at("a.padmodel")]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /calibrated on this host's last 120 normal rounds/);
      const version = latest(at("b.db")).id as number;
      store(at("b.db"), b.slice(2 * HOUR));
      const detected = await runPad(["--db", at("b.db"), "detect", "--max-epochs", "2"]);
      assert.equal(detected.code, 0, detected.stderr);
      const hour = query(
        at("b.db"),
        "SELECT s.model_id, s.score, s.verdict FROM round_scores s JOIN rounds r ON r.id = s.round_id " +
          "WHERE r.start_time >= ?",
        HISTORY_START + 2 * HOUR * 60_000,
      );
      assert.equal(hour.length, HOUR);
      assert.ok(hour.every((s) => s.model_id === version));
      const above = (limit: number) => hour.filter((s) => (s.score as number) > limit).length;
      // Measured: 22 and 23 of the 60 rounds above them; 0 flagged with the rebuilt threshold.
      assert.ok(above(local) >= 10, `${above(local)} rounds above the local ${local}`);
      assert.ok(above(file) >= 10, `${above(file)} rounds above the file's ${file}`);
      assert.equal(hour.filter((s) => s.verdict === "anomaly").length, 0);
    },
  );
});
