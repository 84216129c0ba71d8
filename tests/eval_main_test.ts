import assert from "node:assert/strict";
import { parseOptions, README_END, README_START, withResultsTable } from "../eval/main.ts";
import { UsageError } from "../src/errors.ts";

Deno.test("parseOptions() rejects bad flags with a line naming them", () => {
  assert.throws(() => parseOptions(["--only", "both"]), UsageError, 'Invalid --only "both"');
  assert.throws(() => parseOptions(["--jobs", "0"]), UsageError, 'Invalid --jobs "0"');
  assert.throws(() => parseOptions(["--benign-rounds", "100"]), UsageError, "at least 150");
  assert.throws(() => parseOptions(["--reuse"]), UsageError, "--reuse needs --out DIR");
  assert.throws(() => parseOptions(["--frobnicate"]), UsageError, "Unknown option '--frobnicate'");
  const quick = parseOptions(["--quick", "--only", "replay"]);
  assert.ok(quick !== "help");
  assert.deepEqual([quick.quick, quick.only, quick.benignRounds, quick.out], [
    true,
    "replay",
    180,
    null,
  ]);
});

Deno.test("withResultsTable() replaces only what lies between README's markers", () => {
  const readme = `# pad\n\nintro\n\n${README_START}\n\n| old |\n\n${README_END}\n\nafter\n`;
  assert.equal(
    withResultsTable(readme, "| new |\n| --- |\n"),
    `# pad\n\nintro\n\n${README_START}\n\n| new |\n| --- |\n\n${README_END}\n\nafter\n`,
  );
  assert.equal(withResultsTable("# pad\n", "| new |"), null);
  assert.equal(withResultsTable(`${README_END}\n${README_START}\n`, "| new |"), null);
});
