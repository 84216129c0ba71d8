/**
 * tcpdump's own 830 test captures, many made by fuzzers, as a peer's test suite for pad's
 * capture reader: every one imports without a stack trace or a hang, the database stays
 * intact and readable after each (table reads, the report, detect), and wherever pad decodes
 * the link type it finds IP in exactly as many frames as tshark does
 * (tests/data/tcpdump_tshark_ip.tsv, written by tests/data/tshark_ip_counts.sh).
 */
import assert from "node:assert/strict";
import { tempDir } from "../fixtures/pad_cli.ts";
import type { ImportAllReport } from "./support/import_all.ts";

const DIR = new URL("../../shared/pcaps/tcpdump-tests/", import.meta.url);
const present = (() => {
  try {
    return Deno.statSync(DIR).isDirectory;
  } catch {
    return false;
  }
})();
if (!present) console.warn(`Skipping tcpdump's captures: ${DIR.pathname} is absent`);

/** How long the whole run may take before it counts as a hang (about a minute here). */
const TIMEOUT_MS = 10 * 60_000;

/** tshark's counts: file name → frames with IPv4 or IPv6. */
function tsharkCounts(): Map<string, number> {
  const text = Deno.readTextFileSync(new URL("./data/tcpdump_tshark_ip.tsv", import.meta.url));
  return new Map(
    text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((line) => {
      const [file, count] = line.split("\t");
      return [file!, Number(count)];
    }),
  );
}

Deno.test({
  name:
    "tcpdump's 830 test captures: no stack trace, no hang, a readable database, tshark's IP counts",
  ignore: !present,
  async fn() {
    using dir = tempDir();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("./support/import_all.ts", import.meta.url).pathname,
        DIR.pathname,
        `${dir.path}/all.db`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    const output = await child.output();
    clearTimeout(timer);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, `the run ended by itself within ${TIMEOUT_MS} ms: ${stderr}`);
    const report = JSON.parse(new TextDecoder().decode(output.stdout)) as ImportAllReport;

    assert.deepEqual(report.crashes, [], "no stack trace");
    const tshark = tsharkCounts();
    assert.equal(report.outcomes.length, tshark.size, "every capture was read");
    const decoded = report.outcomes.filter((o) => o.decoded);
    const differ = decoded.filter((o) => o.ip !== tshark.get(o.file))
      .map((o) => `${o.file}: pad ${o.ip}, tshark ${tshark.get(o.file)}`);
    assert.deepEqual(differ, [], "IP counts where pad decodes the link type");
    assert.ok(
      decoded.length > report.outcomes.length / 2,
      `${decoded.length} captures of link types pad decodes`,
    );
    assert.ok(report.scored > 0, "detect scored the imported rounds");
    if (Deno.env.get("PAD_TEST_VERBOSE")) {
      const frames = report.outcomes.reduce((n, o) => n + o.frames, 0);
      const ip = report.outcomes.reduce((n, o) => n + o.ip, 0);
      const refused = report.outcomes.filter((o) => o.refused !== null).length;
      console.log(
        `${report.outcomes.length} captures, ${frames} frames, ${ip} with IP; ${decoded.length} ` +
          `of link types pad decodes; ${refused} stopped at a damaged record; ${report.rounds} ` +
          `rounds, ${report.scored} scored; ${report.seconds.toFixed(1)} s`,
      );
    }
  },
});
