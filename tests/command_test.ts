import assert from "node:assert/strict";
import { Command, Option } from "../src/cli/command.ts";
import { UsageError } from "../src/errors.ts";

/** A program shaped like pad's: a global flag with an environment variable, and two levels. */
function program(seen: { args?: unknown[] }) {
  const root = new Command("pad")
    .version("9.9.9")
    .addOption(new Option("--db <path>", "database").env("PAD_TEST_DB"))
    .option("-q, --quiet", "quiet");
  root.command("detect")
    .option("--syslog [socket]", "syslog")
    .option("--no-capture", "no capture")
    .option("--limit <n>", "rows", (t: string) => Number(t), 20)
    .option("--where <c=v>", "repeatable", (v: string, p: string[]) => [...p, v], [] as string[])
    .addOption(new Option("--format <format>", "format").choices(["text", "json"] as const))
    .argument("[table]", "a table")
    .action((...args) => {
      seen.args = args.slice(0, -1); // without the command itself
    });
  const model = root.command("model");
  model.command("merge")
    .argument("<files...>", "files")
    .requiredOption("-o, --output <file>", "output", (t: string) => t)
    .action((...args) => {
      seen.args = args.slice(0, -1);
    });
  return root;
}

async function parse(args: string[]): Promise<unknown[] | undefined> {
  const seen: { args?: unknown[] } = {};
  await program(seen).parseAsync(args);
  return seen.args;
}

async function usageError(args: string[]): Promise<string> {
  let message = "";
  await assert.rejects(() => parse(args), (error: Error) => {
    message = error.message;
    return error instanceof UsageError;
  });
  return message;
}

Deno.test("flags in any order, values in every spelling, defaults and parsers' previous values", async () => {
  assert.deepEqual(await parse(["detect"]), [undefined, { capture: true, limit: 20, where: [] }]);
  assert.deepEqual(
    await parse([
      "detect",
      "ports",
      "--limit=5",
      "--where",
      "a=1",
      "--where",
      "b=2",
      "--no-capture",
      "--syslog",
      "--format",
      "json",
    ]),
    [
      "ports",
      { capture: false, limit: 5, where: ["a=1", "b=2"], syslog: true, format: "json" },
    ],
  );
  // An optional value is taken when the next word is not a flag.
  assert.deepEqual((await parse(["detect", "--syslog", "/run/log"]))?.[1], {
    capture: true,
    limit: 20,
    where: [],
    syslog: "/run/log",
  });
  // `--` ends the flags; a value that looks like a flag is still the flag's value.
  assert.deepEqual((await parse(["detect", "--limit", "-1", "--", "--x"]))?.[0], "--x");
  assert.deepEqual(await parse(["model", "merge", "a", "b", "-ofleet"]), [["a", "b"], {
    output: "fleet",
  }]);
});

Deno.test("a parent's flag works after the subcommand; the environment fills what no flag gave", async () => {
  const seen: { args?: unknown[] } = {};
  const root = program(seen);
  await root.parseAsync(["detect", "--db", "/tmp/a.db", "-q"]);
  assert.deepEqual(root.opts(), { db: "/tmp/a.db", quiet: true });
  assert.equal(root.getOptionValueSource("db"), "cli");
  Deno.env.set("PAD_TEST_DB", "/tmp/env.db");
  try {
    const fromEnv = program(seen);
    await fromEnv.parseAsync(["detect"]);
    assert.equal(fromEnv.opts().db, "/tmp/env.db");
    assert.equal(fromEnv.getOptionValueSource("db"), "env");
    const flagWins = program(seen);
    await flagWins.parseAsync(["--db", "/tmp/flag.db", "detect"]);
    assert.equal(flagWins.opts().db, "/tmp/flag.db");
  } finally {
    Deno.env.delete("PAD_TEST_DB");
  }
});

Deno.test("each mistake is one usage error that names the flag, argument or command", async () => {
  assert.match(await usageError(["detect", "--colour"]), /^unknown option '--colour'/);
  assert.match(await usageError(["detect", "--limt", "3"]), /did you mean --limit\?/);
  assert.match(
    await usageError(["detect", "--format", "xml"]),
    /--format "xml": use one of text, json/,
  );
  assert.match(await usageError(["detect", "--limit"]), /--limit needs a value/);
  assert.match(await usageError(["detect", "--no-capture=1"]), /--no-capture takes no value/);
  assert.match(
    await usageError(["detect", "a", "b"]),
    /too many arguments: pad detect takes \[table\]/,
  );
  assert.match(
    await usageError(["model", "merge", "-o", "x"]),
    /pad model merge needs <files\.\.\.>/,
  );
  assert.match(await usageError(["model", "merge", "a"]), /needs -o, --output <file>/);
  assert.match(await usageError(["model", "split"]), /unknown command 'split'/);
});

Deno.test("help lists own flags, the parents' flags and the subcommands, wrapped at 80 columns", () => {
  const root = program({});
  const detect = root.commands[0]!;
  const help = detect.helpText();
  assert.match(help, /^Usage: pad detect \[options\] \[table\]\n/);
  assert.match(help, /\nArguments:\n {2}table +a table\n/);
  assert.match(help, /\n {2}--limit <n> +rows \(default: 20\)\n/);
  assert.match(help, /\n {2}--format <format> +format \(choices: "text", "json"\)\n/);
  assert.match(help, /\nGlobal Options:\n {2}-V, --version +output the version number\n/);
  assert.doesNotMatch(help, /--no-capture.*default/); // a --no- switch's default says nothing
  assert.match(root.helpText(), /\nCommands:\n {2}detect \[options\] \[table\]\n {2}model\n/);
  const long = new Command("x").option("--a <b>", "word ".repeat(40).trim()).helpText();
  for (const line of long.split("\n")) assert.ok(line.length <= 80, line);
});
