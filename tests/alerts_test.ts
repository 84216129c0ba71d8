/**
 * Delivery of incidents to a real Alertmanager (Debian's, on 127.0.0.1), an exec hook and a
 * syslog socket: each event told once, and nothing lost while a target is down.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openDatabase } from "../src/store/database.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory, injectListener } from "../fixtures/synthetic.ts";
import { alertmanagerAvailable, startAlertmanager } from "./support/alertmanager.ts";
import { freePortBlock } from "./support/listeners.ts";

const noAlertmanager = !alertmanagerAvailable();
if (noAlertmanager) {
  console.warn(
    "prometheus-alertmanager is absent: the alert delivery test is ignored " +
      "(apt-get install prometheus-alertmanager)",
  );
}

function query(db: string, sql: string) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all().map((r) => ({ ...r }));
}

/** Receives syslog datagrams on a Unix socket, as journald and rsyslog do on /dev/log. */
function syslogSocket(path: string) {
  const conn = Deno.listenDatagram({ transport: "unixpacket", path });
  const lines: string[] = [];
  const done = (async () => {
    try {
      for (;;) {
        const [data] = await conn.receive();
        lines.push(new TextDecoder().decode(data));
      }
    } catch {
      // closed
    }
  })();
  return {
    lines,
    async [Symbol.asyncDispose]() {
      conn.close();
      await done;
    },
  };
}

Deno.test({
  name:
    "incidents reach Alertmanager, a hook and syslog once each; a target that is down gets them at the next run; ack resolves the alert",
  ignore: noAlertmanager,
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const rounds = generateHistory({ rounds: 180, seed: 15 });
    rounds[175] = injectListener(rounds[175]!, 40_001);
    {
      using conn = openDatabase(db);
      storeRoundHistory(conn, rounds);
    }
    const port = freePortBlock(1);
    const hook = `${dir.path}/hook.sh`;
    const received = `${dir.path}/received.jsonl`;
    const socket = `${dir.path}/log.sock`;
    const targets = [
      "--alertmanager",
      `http://127.0.0.1:${port}`,
      "--on-incident",
      `sh ${hook}`,
      "--syslog",
      socket,
    ];

    // Every target down: Alertmanager not started, the hook failing, no syslog socket.
    Deno.writeTextFileSync(hook, "echo 'mail server down' >&2; exit 7\n");
    const first = await runPad(["--db", db, "detect", ...targets]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Incident 1 opened on .+: new TCP listener on 40001 /);
    assert.match(first.stderr, /Alertmanager at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    assert.match(first.stderr, /hook "sh .*hook\.sh" exited 7: mail server down/);
    assert.match(first.stderr, /syslog at .*log\.sock did not take the line/);
    assert.deepEqual(
      query(db, "SELECT event, delivered, attempts FROM incident_deliveries").map((r) => [
        r.event,
        r.delivered,
        r.attempts,
      ]),
      [["opened", null, 1], ["opened", null, 1], ["opened", null, 1]],
    );

    // Every target back: the next run, with no new round, tells them.
    await using alertmanager = await startAlertmanager(`${dir.path}/am`, port);
    await using syslog = syslogSocket(socket);
    Deno.writeTextFileSync(hook, `cat >> ${received}\n`);
    const second = await runPad(["--db", db, "detect", ...targets]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, "");
    const [alert, ...others] = await alertmanager.alerts();
    assert.deepEqual(others, []);
    assert.equal(alert!.labels.alertname, "PadIncident");
    assert.equal(alert!.labels.incident, "1");
    assert.equal(alert!.labels.kind, "new listener");
    assert.equal(alert!.labels.host, Deno.hostname());
    assert.match(alert!.annotations.summary!, /^new TCP listener on 40001 \(nc, pid 6666\)$/);
    assert.equal(alert!.status.state, "active");
    const [told, ...more] = Deno.readTextFileSync(received).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(more, []);
    assert.equal(told.type, "incident");
    assert.equal(told.event, "opened");
    assert.equal(told.id, 1);
    assert.equal(told.host, Deno.hostname());
    assert.equal(typeof told.model_version, "number");
    assert.deepEqual(told.ports[0], { protocol: "tcp", port: 40_001, command: "nc", pid: 6666 });
    assert.equal(syslog.lines.length, 1);
    assert.match(
      syslog.lines[0]!,
      /^<28>pad\[\d+\]: Incident 1 opened on .+: new TCP listener on 40001 \(nc, pid 6666\)/,
    );

    // Told once: a third run tells the hook and syslog nothing new.
    const third = await runPad(["--db", db, "detect", ...targets]);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(Deno.readTextFileSync(received).trim().split("\n").length, 1);
    assert.equal(syslog.lines.length, 1);

    // Acknowledged: the alert resolves, the hook and syslog hear it once.
    assert.equal((await runPad(["--db", db, "ack", "1"])).code, 0);
    const fourth = await runPad(["--db", db, "detect", ...targets]);
    assert.equal(fourth.code, 0, fourth.stderr);
    assert.deepEqual(await alertmanager.alerts(), []);
    const events = Deno.readTextFileSync(received).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => [e.event, e.status]), [
      ["opened", "open"],
      ["resolved", "acknowledged"],
    ]);
    assert.equal(syslog.lines.length, 2);
    assert.match(syslog.lines[1]!, /^<29>pad\[\d+\]: Incident 1 acknowledged on /);
  },
});
