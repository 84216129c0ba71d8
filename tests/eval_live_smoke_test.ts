/**
 * A short run of the live eval's parts (about 20 s): the real services under benign load in a
 * network namespace, real `pad collect` rounds, and two anomalies (a new ncat listener, then a
 * bind shell that lives 2 s). Skipped, with a line saying why, when not root or when a Debian tool
 * is missing.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { bindShell, newListener } from "../eval/anomalies.ts";
import { Collector } from "../eval/live.ts";
import {
  findTools,
  Lab,
  startBenignLoad,
  startServices,
  type ToolPaths,
} from "../eval/services.ts";
import { mulberry32 } from "../src/random.ts";
import { tempDir } from "../fixtures/pad_cli.ts";

function toolsOrReason(): ToolPaths | string {
  if (Deno.build.os !== "linux") return "the live eval runs on Linux only";
  if (Deno.uid() !== 0) return "the live eval needs root (capture, network namespace)";
  try {
    return findTools();
  } catch (error) {
    return (error as Error).message;
  }
}

const tools = toolsOrReason();
if (typeof tools === "string") console.warn(`eval_live_smoke_test skipped: ${tools}`);

Deno.test({
  name:
    "live eval: services under load, collect rounds, a new listener, a bind shell, nothing left",
  ignore: typeof tools === "string",
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/live.db`;
    const lines: string[] = [];
    const lab = await Lab.open({
      dir: dir.path,
      tools: tools as ToolPaths,
      log: (l) => lines.push(l),
    });
    let pids: number[] = [];
    try {
      const services = await startServices(lab);
      const load = startBenignLoad(lab, services, 3);
      const collector = new Collector({ lab, db, roundSeconds: 2 });
      collector.start();
      await collector.waitRounds(1);
      await collector.nextRoundStart();
      const episode = await newListener.run({
        lab,
        services,
        roundMs: 2_000,
        random: mulberry32(1),
      });
      await collector.nextRoundStart();
      const shell = await bindShell.run({ lab, services, roundMs: 2_000, random: mulberry32(1) });
      await collector.waitRounds(1);
      await collector.stop();
      const summary = await load.stop();

      assert.equal(collector.failed, 0, lines.join("\n"));
      assert.ok(episode.start < episode.end && episode.end === episode.settled);
      assert.match(episode.command, /^ncat -l 127\.0\.0\.1 \d+ --keep-open/);
      const port = Number(episode.command.split(" ")[3]);

      const read = new DatabaseSync(db, { readOnly: true });
      try {
        const rounds = read.prepare(
          "SELECT id, start_time, end_time FROM rounds WHERE status = 'complete' ORDER BY id",
        ).all() as { id: number; start_time: number; end_time: number }[];
        const listening = new Set(
          read.prepare(
            "SELECT round_id FROM rounds_ports WHERE port_id = ? AND protocol = 'tcp' " +
              "AND socket_state = 'LISTEN' AND command = 'ncat'",
          ).all(port).map((r) => Number(r.round_id)),
        );
        const during = rounds.filter((r) =>
          r.start_time < episode.end && r.end_time > episode.start
        );
        const before = rounds.filter((r) => r.end_time <= episode.start);
        assert.ok(during.length >= 2, `rounds during the listener: ${during.length}`);
        assert.ok(before.length >= 1);
        assert.ok(during.some((r) => listening.has(r.id)), "the listener is in its rounds");
        assert.ok(before.every((r) => !listening.has(r.id)), "and not before it started");
        const web = read.prepare(
          "SELECT sum(packets) AS packets FROM round_traffic WHERE port_id = ? AND protocol = 'tcp'",
        ).get(services.web);
        assert.ok(Number(web?.packets) > 0, "the benign curl traffic to nginx was captured");
        // The bind shell's SYN-ACK, whether a sweep saw its listener or not.
        const shellPort = Number(shell.command.split(" ")[3]);
        const accepted = read.prepare(
          "SELECT sum(t.accepts) AS n FROM round_traffic t JOIN rounds r ON r.id = t.round_id " +
            "WHERE t.port_id = ? AND t.protocol = 'tcp' AND r.start_time < ? AND r.end_time > ?",
        ).get(shellPort, shell.end, shell.start);
        assert.ok(Number(accepted?.n) >= 1, `the bind shell accepted its client: ${accepted?.n}`);
      } finally {
        read.close();
      }
      assert.ok(summary["curl-close"]!.runs > 0 && summary["redis-cli"]!.runs > 0);
      // Everything still running: the services, their workers (nginx's), the lab's anchor.
      pids = lab.running().map((p) => p.pid);
      if (lab.netns) pids.push(...(await netnsPids(lab.netns)));
      assert.ok(pids.length >= 4, `running: ${pids}`);
    } finally {
      await lab.close();
    }
    for (const pid of pids) assert.throws(() => Deno.statSync(`/proc/${pid}`), `pid ${pid} ended`);
    if (lab.netns) {
      const list = await new Deno.Command("ip", { args: ["netns", "list"] }).output();
      assert.ok(!new TextDecoder().decode(list.stdout).includes(lab.netns), "namespace removed");
    }
  },
});

async function netnsPids(name: string): Promise<number[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "pids", name] }).output();
  return new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean).map(Number);
}
