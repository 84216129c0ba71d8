/**
 * `pad cron` against the real crontab(1). The crontab pad edits is never root's: pad runs with a
 * PATH holding only a `crontab` wrapper that drops to a throwaway system user (made here with
 * useradd, removed after) before it execs /usr/bin/crontab, so crontab(1) reads, validates and
 * writes that user's file in /var/spool/cron/crontabs as it would for any user. Every test also
 * checks root's crontab is exactly as it was.
 */
import assert from "node:assert/strict";
import { PadError } from "../src/errors.ts";
import { cronBlock, installBlock, removeBlock } from "../src/fleet/cron_block.ts";
import { cronLines, PAD_RUN_FLAGS } from "../src/fleet/cron_lines.ts";
import { padCommandLine, type PadRun, padTaskFlags, runPad, tempDir } from "../fixtures/pad_cli.ts";

const SPOOL = "/var/spool/cron/crontabs";
const decoder = new TextDecoder();

function rootCrontab(): string | null {
  try {
    return Deno.readTextFileSync(`${SPOOL}/root`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function command(program: string, args: string[], stdin?: string): Deno.CommandOutput {
  if (stdin === undefined) {
    return new Deno.Command(program, { args, stdin: "null" }).outputSync();
  }
  // outputSync cannot feed stdin: a shell reads it from a file instead.
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir.path}/in`, stdin);
  return new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$@" < "$IN"', "sh", program, ...args],
    env: { IN: `${dir.path}/in` },
    stdin: "null",
  }).outputSync();
}

/** A throwaway user and a PATH whose only `crontab` edits that user's crontab. */
class CrontabUser implements Disposable {
  readonly name = `padcrontest-${crypto.randomUUID().slice(0, 8)}`;
  readonly bin = Deno.makeTempDirSync({ prefix: "pad_crontab_bin_" });
  readonly #rootBefore = rootCrontab();

  constructor() {
    const add = command("useradd", [
      "--system",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      this.name,
    ]);
    assert.equal(add.code, 0, decoder.decode(add.stderr));
    const id = (flag: string) => decoder.decode(command("id", [flag, this.name]).stdout).trim();
    const wrapper = `${this.bin}/crontab`;
    Deno.writeTextFileSync(
      wrapper,
      "#!/bin/sh\n" +
        `exec /usr/bin/setpriv --reuid=${id("-u")} --regid=${id("-g")} --init-groups ` +
        '/usr/bin/crontab "$@"\n',
    );
    Deno.chmodSync(wrapper, 0o755);
  }

  /** The user's crontab as `crontab -l` prints it; null when there is none. */
  read(): string | null {
    const output = command(`${this.bin}/crontab`, ["-l"]);
    if (output.success) return decoder.decode(output.stdout);
    assert.match(decoder.decode(output.stderr), /no crontab for/);
    return null;
  }

  /** Installs `text` with crontab(1); returns its exit code and message. */
  write(text: string): { code: number; stderr: string } {
    const output = command(`${this.bin}/crontab`, ["-"], text);
    return { code: output.code, stderr: decoder.decode(output.stderr) };
  }

  /** Runs `pad ARGS` with only the wrapper in PATH. */
  pad(args: string[], cwd?: string): Promise<PadRun> {
    return runPad(args, { env: { PATH: this.bin }, cwd });
  }

  [Symbol.dispose](): void {
    command(`${this.bin}/crontab`, ["-r"]);
    try {
      Deno.removeSync(`${SPOOL}/${this.name}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    command("userdel", [this.name]);
    Deno.removeSync(this.bin, { recursive: true });
    assert.equal(rootCrontab(), this.#rootBefore, "root's crontab was not touched");
  }
}

/** A crontab someone already had: variables, comments, blank lines, a `%` job, odd spacing. */
const THEIRS = 'MAILTO=""\n' +
  "# nightly backup\n" +
  "30 2 * * 1   /usr/local/bin/backup --quiet  \n" +
  "\n" +
  "*/5 * * * * printf 'hello\\n' | logger -t mine % stdin here\n" +
  "@reboot /bin/true\n";

/** The job lines (not comments) of a block. */
function jobs(text: string): string[] {
  return text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
}

/** The pad arguments of a cron line: the words after the command and --db, before `>>`. */
function padArgs(line: string, commandLength: number): string[] {
  const words = line.split(/\s+/).slice(5);
  const args = words.slice(commandLength, words.findIndex((w) => w === ">>" || w === "2>>"));
  const db = args.indexOf("--db");
  if (db >= 0) args.splice(db, 2);
  return args;
}

Deno.test("pad cron prints three jobs with absolute paths that agree with README's first-hour section", async () => {
  using dir = tempDir();
  // A relative --db, from another directory, with no crontab(1) in PATH: printing needs none.
  const run = await runPad(["--db", "data/pad.db", "cron"], {
    env: { PATH: "/nonexistent" },
    cwd: dir.path,
  });
  assert.equal(run.code, 0, run.stderr);
  const db = `${dir.path}/data/pad.db`;
  const lines = run.stdout.trimEnd().split("\n");
  assert.equal(lines[0], `# BEGIN pad ${db}`);
  assert.equal(lines[lines.length - 1], `# END pad ${db}`);
  const jobLines = jobs(run.stdout);
  assert.equal(jobLines.length, 3);

  const command = [Deno.execPath(), "run", ...padTaskFlags(), padCommandLine().at(-1)!];
  assert.ok(
    command.every((word) => word.startsWith("/") || word.startsWith("-") || word === "run"),
  );
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const section = /## The first hour[^\n]*\n[\s\S]*?```cron\n([\s\S]*?)```/.exec(readme);
  assert.ok(section, "README has a Cron section with a cron block");
  const documented = section[1]!.trim().split("\n");
  assert.equal(documented.length, 3);
  for (const [i, role] of ["collect", "detect", "prune"].entries()) {
    const line = jobLines[i]!;
    const theirs = documented[i]!.split(/\s+/);
    assert.equal(line.split(" ").slice(0, 5).join(" "), theirs.slice(0, 5).join(" "), "schedule");
    assert.ok(line.includes(` ${command.join(" ")} --db ${db} `), line);
    assert.deepEqual(
      padArgs(line, command.length),
      theirs.slice(6, theirs.findIndex((w) => w === ">>" || w === "2>>")).filter((_, j, all) =>
        all[j] !== "--db" && all[j - 1] !== "--db"
      ),
      `pad's arguments in README for ${role}`,
    );
    // Detect's stdout, the incidents it opened, is left to cron, which mails it.
    const redirect = role === "detect" ? "2>>" : ">>";
    assert.equal(theirs.at(role === "detect" ? -2 : -3), redirect, documented[i]);
    assert.ok(
      line.endsWith(
        role === "detect"
          ? ` 2>> ${dir.path}/data/pad-detect.log`
          : ` >> ${dir.path}/data/pad-${role}.log 2>&1`,
      ),
      line,
    );
  }
  assert.ok(jobLines[0]!.includes("--quiet collect --probe procfs"));
});

Deno.test("the command is deno run with the pad task's flags and main.ts, or the binary itself", () => {
  assert.deepEqual([...PAD_RUN_FLAGS], padTaskFlags());
  const lines = cronLines({ db: "/srv/pad/pad.db" });
  assert.ok(lines[0]!.startsWith(`* * * * * ${padCommandLine().join(" ")} --db /srv/pad/pad.db `));
  const binary = cronLines({
    db: "/srv/pad/pad.db",
    prometheus: "/var/lib/node/pad.prom",
    alertmanager: ["http://am.example:9093"],
  }, ["/usr/local/bin/pad"]);
  assert.deepEqual(binary, [
    "* * * * * /usr/local/bin/pad --db /srv/pad/pad.db --quiet collect --probe procfs " +
    "--prometheus /var/lib/node/pad.prom >> /srv/pad/pad-collect.log 2>&1",
    "5 * * * * /usr/local/bin/pad --db /srv/pad/pad.db --quiet detect " +
    "--prometheus /var/lib/node/pad.prom --alertmanager http://am.example:9093 " +
    "2>> /srv/pad/pad-detect.log",
    "0 0 * * * /usr/local/bin/pad --db /srv/pad/pad.db --quiet prune >> /srv/pad/pad-prune.log 2>&1",
  ]);
});

Deno.test("pad cron --install twice leaves one block after the lines that were there, byte for byte", async () => {
  using user = new CrontabUser();
  using dir = tempDir();
  // crontab(1) really validates: a broken line is refused whole.
  assert.notEqual(user.write("this is not a cron line\n").code, 0);
  assert.equal(user.read(), null);
  assert.equal(user.write(THEIRS).code, 0);
  assert.equal(user.read(), THEIRS);

  const db = `${dir.path}/pad.db`;
  const printed = (await user.pad(["--db", db, "cron"])).stdout;
  const first = await user.pad(["--db", db, "cron", "--install"]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^Installed pad's cron lines for .*pad\.db in your crontab/);
  assert.equal(user.read(), THEIRS + printed, "crontab(1) accepted pad's lines as printed");

  const second = await user.pad(["--db", db, "cron", "--install"]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /already in your crontab, unchanged/);
  assert.equal(user.read(), THEIRS + printed);
  assert.equal(user.read()!.split("\n").filter((l) => l === `# BEGIN pad ${db}`).length, 1);
});

Deno.test("pad cron --uninstall removes exactly pad's lines; with none there it says so, exit 0", async () => {
  using user = new CrontabUser();
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const none = await user.pad(["--db", db, "cron", "--uninstall"]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /No pad cron lines for .*pad\.db in your crontab: nothing to remove/);
  assert.equal(user.read(), null, "no crontab was created");

  assert.equal(user.write(THEIRS).code, 0);
  assert.equal((await user.pad(["--db", db, "cron", "--install"])).code, 0);
  const removed = await user.pad(["--db", db, "cron", "--uninstall"]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /^Removed pad's cron lines for .*pad\.db/);
  assert.equal(user.read(), THEIRS);

  const again = await user.pad(["--db", db, "cron", "--uninstall"]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to remove/);
  assert.equal(user.read(), THEIRS);
});

Deno.test("two databases keep two blocks; reinstalling one replaces it in place", async () => {
  using user = new CrontabUser();
  using dir = tempDir();
  const a = `${dir.path}/a/pad.db`;
  const b = `${dir.path}/b/pad.db`;
  assert.equal(user.write(THEIRS).code, 0);
  for (const db of [a, b]) {
    assert.equal((await user.pad(["--db", db, "cron", "--install"])).code, 0);
  }
  const blockOf = async (db: string, ...args: string[]) =>
    (await user.pad(["--db", db, "cron", ...args])).stdout;
  assert.equal(user.read(), THEIRS + (await blockOf(a)) + (await blockOf(b)));
  for (const role of ["collect", "detect", "prune"]) {
    assert.ok((await blockOf(b)).includes(`>> ${dir.path}/b/pad-${role}.log`));
  }

  // A changed setup (another log directory) replaces a's block where it was.
  const logs = `${dir.path}/logs`;
  const moved = await user.pad(["--db", a, "cron", "--install", "--log-dir", logs]);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /^Replaced/);
  assert.ok(Deno.statSync(logs).isDirectory, "install creates the log directory");
  const movedBlock = await blockOf(a, "--log-dir", logs);
  assert.ok(movedBlock.includes(`>> ${logs}/pad-collect.log 2>&1`));
  assert.equal(user.read(), THEIRS + movedBlock + (await blockOf(b)));

  assert.equal((await user.pad(["--db", a, "cron", "--uninstall"])).code, 0);
  assert.equal(user.read(), THEIRS + (await blockOf(b)));
  assert.equal((await user.pad(["--db", b, "cron", "--uninstall"])).code, 0);
  assert.equal(user.read(), THEIRS);
});

Deno.test("without crontab(1), --install is one error naming Debian's cron package, exit 1", async () => {
  using dir = tempDir();
  const before = rootCrontab();
  const run = await runPad(["--db", `${dir.path}/pad.db`, "cron", "--install"], {
    env: { PATH: dir.path },
  });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /crontab\(1\) was not found: install it \(Debian: apt-get install cron\)/,
  );
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.equal(run.stdout, "");
  assert.equal(rootCrontab(), before);
});

Deno.test("a job line survives cron's % and the shell: prune runs on a path with spaces, quotes and %", async () => {
  using dir = tempDir();
  const home = `${dir.path}/it's a 50% "odd" $HOME dir`;
  Deno.mkdirSync(home);
  const db = `${home}/pad.db`;
  assert.equal((await runPad(["--db", db, "init"])).code, 0, "prune needs the database");
  const printed = await runPad(["--db", db, "cron"], { env: { PATH: "/nonexistent" } });
  assert.equal(printed.code, 0, printed.stderr);
  const prune = jobs(printed.stdout)[2]!;
  const commandText = prune.replace(/^(\S+ ){5}/, "");
  // What cron does before /bin/sh sees the command (crontab(5)): an unescaped % would end it.
  assert.doesNotMatch(commandText, /(^|[^\\])%/, "every % is escaped");
  const shell = new Deno.Command("/bin/sh", {
    args: ["-c", commandText.replaceAll("\\%", "%")],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).outputSync();
  assert.equal(shell.code, 0, decoder.decode(shell.stderr));
  // Exit 0 above already says prune found the database at this very path: it refuses a missing one.
  assert.ok(Deno.statSync(`${home}/pad-prune.log`).isFile, "the log is beside it");
  assert.equal(Deno.readTextFileSync(`${home}/pad-prune.log`), "", "--quiet: nothing to log");
});

Deno.test("a path cron cannot carry is a usage error: one line, exit 2", async () => {
  using dir = tempDir();
  const run = await runPad(["--db", `${dir.path}/a\\b.db`, "cron"], {
    env: { PATH: "/nonexistent" },
  });
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /Cannot write --db ".*a\\b\.db" in a crontab line: it contains a backslash/,
  );
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
});

Deno.test("block edits keep other lines byte for byte, end a last line, and drop pasted copies", () => {
  const block = cronBlock("/d/pad.db", ["0 0 * * * /bin/pad prune"]);
  const noNewline = "# mine\r\n15 * * * * /bin/true";
  const installed = installBlock(noNewline, "/d/pad.db", block);
  assert.equal(installed.text, `${noNewline}\n${block.join("\n")}\n`);
  assert.equal(removeBlock(installed.text, "/d/pad.db").text, `${noNewline}\n`);

  const twice = `a\n${block.join("\n")}\nb\n${block.join("\n")}\nc\n`;
  const newer = cronBlock("/d/pad.db", ["0 1 * * * /bin/pad prune"]);
  const replaced = installBlock(twice, "/d/pad.db", newer);
  assert.equal(replaced.found, 2);
  assert.equal(replaced.text, `a\n${newer.join("\n")}\nb\nc\n`);
  assert.equal(removeBlock(twice, "/d/pad.db").text, "a\nb\nc\n");

  const other = cronBlock("/d/pad.db.old", ["0 0 * * * /bin/pad prune"]);
  const mixed = `${other.join("\n")}\n`;
  assert.equal(removeBlock(mixed, "/d/pad.db").changed, false, "a prefix is another database");
  assert.throws(
    () => installBlock(`${block[0]}\n* * * * * x\n`, "/d/pad.db", block),
    (error: Error) =>
      error instanceof PadError && /without its "# END pad \/d\/pad\.db"/.test(error.message),
  );
});
