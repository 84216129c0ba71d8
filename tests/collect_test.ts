import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type CollectOptions, defaultRoundLength, runCollect } from "../src/commands/collect.ts";
import { BufferOutput } from "../src/output.ts";
import { ABANDONED } from "../src/store/rounds.ts";
import { DEFAULT_RING_BYTES } from "../src/capture/live.ts";
import { dnsQuery } from "../fixtures/frames.ts";
import { commandExists, freePortBlock, openListener } from "./support/listeners.ts";
import { runPad, spawnPad, tempDir } from "../fixtures/pad_cli.ts";
import { waitFor } from "./support/wait.ts";

const isRoot = Deno.uid() === 0;

function collect(db: string, options: Partial<CollectOptions> = {}) {
  return runCollect({
    db,
    probe: "procfs",
    intervalMs: 200,
    durationMs: 1_500,
    capture: false,
    payloadBytes: 0,
    maxPackets: 10_000,
    ...options,
  }, new BufferOutput());
}

function query(db: string, sql: string, ...params: (string | number)[]) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all(...params).map((r) => ({ ...r }));
}

/** Resolves once the database holds an open round (the collector has started its capture). */
function roundOpened(db: string): Promise<void> {
  return waitFor(
    () => query(db, "SELECT id FROM rounds WHERE status = 'open'").length > 0,
    `an open round in ${db}`,
  );
}

/** Resolves once the open round has stored `sweeps` sweeps (the collector is running). */
function sweepsStored(db: string, sweeps = 1): Promise<void> {
  return waitFor(
    () =>
      Number(query(db, "SELECT sweeps FROM rounds WHERE status = 'open'")[0]?.sweeps ?? -1) >=
        sweeps,
    `an open round with ${sweeps} sweeps in ${db}`,
  );
}

Deno.test("defaultRoundLength() ends 5 s before the next minute, or the one after when late", () => {
  const minute = Date.parse("2026-11-21T10:00:00Z");
  assert.equal(defaultRoundLength(minute), 55_000);
  assert.equal(defaultRoundLength(minute + 300), 54_700);
  assert.equal(defaultRoundLength(minute + 54_000), 1_000);
  assert.equal(defaultRoundLength(minute + 57_000), 58_000); // cron ran late
});

for (const probe of ["procfs", "listen"] as const) {
  Deno.test(`collect --probe ${probe} stores the test's listeners with protocol and family`, async () => {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const base = freePortBlock(4);
    using _a = openListener("tcp", "127.0.0.1", base);
    using _b = openListener("udp", "0.0.0.0", base + 1);
    using _c = openListener("tcp", "::", base + 2);
    using _d = openListener("udp", "::1", base + 3);
    const result = await collect(db, { probe, durationMs: 1_000 });
    assert.equal(result.status, "complete");
    assert.ok(result.sweeps >= 1);
    const rows = query(
      db,
      "SELECT port_id, protocol, family, sweeps_seen FROM rounds_ports WHERE round_id = ? " +
        "AND port_id BETWEEN ? AND ? ORDER BY port_id",
      result.roundId,
      base,
      base + 3,
    );
    assert.deepEqual(rows.map((r) => [r.port_id, r.protocol, r.family]), [
      [base, "tcp", 4],
      [base + 1, "udp", 4],
      // A "::" socket is dual-stack: it also keeps IPv4 binds off the port, which is what the
      // listen probe sees; /proc/net lists it once, as IPv6.
      ...(probe === "listen" ? [[base + 2, "tcp", 4]] : []),
      [base + 2, "tcp", 6],
      [base + 3, "udp", 6],
    ]);
    assert.ok(rows.every((r) => r.sweeps_seen === result.sweeps));
    const [round] = query(db, "SELECT * FROM rounds WHERE id = ?", result.roundId);
    assert.equal(round!.status, "complete");
    assert.equal(round!.probe, probe);
    assert.equal(round!.capture_off, "turned off with --no-capture");
    assert.ok((round!.end_time as number) > (round!.start_time as number));

    // The ports remember their first listener (the new-listener rule reads it): procfs knows
    // LISTEN and UNCONN; the listen probe only learns that a bind failed.
    const memory = query(
      db,
      "SELECT id, tcp_listener_first_seen AS tcp, udp_listener_first_seen AS udp FROM ports " +
        "WHERE id BETWEEN ? AND ? ORDER BY id",
      base,
      base + 3,
    );
    const within = (t: unknown) =>
      typeof t === "number" && t >= (round!.start_time as number) &&
      t <= (round!.end_time as number);
    const procfs = probe === "procfs";
    assert.deepEqual(memory.map((m) => [m.id, within(m.tcp), within(m.udp)]), [
      [base, procfs, false],
      [base + 1, false, procfs],
      [base + 2, procfs, false],
      [base + 3, false, procfs],
    ]);
  });
}

Deno.test("collect stores the owning process of each port with the procfs probe", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const port = freePortBlock(1);
  using _l = openListener("tcp", "127.0.0.1", port);
  const result = await collect(db, { durationMs: 300 });
  const [row] = query(
    db,
    "SELECT * FROM rounds_ports WHERE round_id = ? AND port_id = ?",
    result.roundId,
    port,
  );
  assert.equal(row!.pid, Deno.pid);
  assert.equal(row!.socket_state, "LISTEN");
  assert.equal(row!.address, "127.0.0.1");
});

Deno.test({
  name:
    "traffic sent on lo is counted exactly per port, with no drop, and --max-packets caps rows only",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const base = freePortBlock(2);
    const server = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: base });
    const client = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: base + 1 });
    // DNS queries to an address where nothing answers: they are on the wire all the same.
    const resolver = { transport: "udp" as const, hostname: "127.0.0.77", port: 53 };
    const running = collect(db, {
      capture: true,
      interface: "lo",
      filter: `udp and (port ${base} or (dst host 127.0.0.77 and dst port 53))`,
      durationMs: 3_000,
      maxPackets: 100,
      payloadBytes: 4,
    });
    await roundOpened(db);
    const payload = new Uint8Array(100).fill(0x61);
    const target = { transport: "udp" as const, hostname: "127.0.0.1", port: base };
    for (let i = 0; i < 500; i++) await client.send(payload, target);
    for (let i = 0; i < 20; i++) {
      await client.send(dnsQuery(`q${i}.example.com`), resolver);
    }
    const result = await running;
    server.close();
    client.close();

    const counts = query(
      db,
      "SELECT port_id, protocol, direction, packets, bytes, peers, remote_ports FROM round_traffic " +
        "WHERE round_id = ? ORDER BY port_id, direction",
      result.roundId,
    );
    // Each datagram counts once "out" on the client's port and once "in" on the server's.
    const frame = 14 + 20 + 8 + 100; // lo is Ethernet-framed
    assert.deepEqual(counts.find((c) => c.port_id === base), {
      port_id: base,
      protocol: "udp",
      direction: "in",
      packets: 500,
      bytes: 500 * frame,
      peers: 1,
      remote_ports: 1,
    });
    const out = counts.find((c) => c.port_id === base + 1 && c.direction === "out")!;
    assert.equal(out.packets, 520);
    assert.equal(out.remote_ports, 2);
    assert.equal(counts.find((c) => c.port_id === 53)!.packets, 20);

    const [round] = query(db, "SELECT * FROM rounds WHERE id = ?", result.roundId);
    assert.equal(round!.status, "complete");
    assert.equal(round!.interface, "lo");
    assert.equal(round!.pcap_dropped, 0);
    assert.equal(round!.packets_seen, 520);
    assert.equal(round!.packets_stored, 100);

    // DNS packets are kept first, then the others up to the cap.
    const rows = query(db, "SELECT * FROM packets WHERE round_id = ?", result.roundId);
    assert.equal(rows.length, 100);
    const dns = rows.filter((r) => r.qry_name !== null);
    assert.equal(dns.length, 20);
    assert.deepEqual(
      new Set(dns.map((r) => r.qry_name)),
      new Set(Array.from({ length: 20 }, (_, i) => `q${i}.example.com`)),
    );
    const plain = rows.find((r) => r.qry_name === null)!;
    assert.equal(plain.direction, "local");
    assert.equal(plain.port_id, base);
    assert.equal(plain.remote_port, base + 1);
    assert.deepEqual(plain.payload, new Uint8Array([0x61, 0x61, 0x61, 0x61]));
  },
});

Deno.test({
  name:
    "connection attempts to 40 closed ports on lo: one address reached 40 ports each way; none without capture",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const base = freePortBlock(40);
    const running = collect(db, {
      capture: true,
      interface: "lo",
      filter: `tcp and host 127.0.0.1 and dst portrange ${base}-${base + 39}`,
      durationMs: 2_000,
    });
    await roundOpened(db);
    for (let port = base; port < base + 40; port++) {
      // Nothing listens: the kernel answers each SYN with a reset.
      await assert.rejects(
        Deno.connect({ hostname: "127.0.0.1", port }),
        Deno.errors.ConnectionRefused,
      );
    }
    const scanned = await running;
    const unseen = await collect(db, { capture: false });

    const spread = (id: number) =>
      query(
        db,
        "SELECT ports_per_peer_in AS inbound, peer_in, ports_per_peer_out AS out, peer_out, " +
          "from_port_out, peers_out, unanswered_out, attempts_per_peer_port_out " +
          "FROM round_connections WHERE round_id = ?",
        id,
      )[0];
    // On loopback each SYN leaves and arrives: both sides see one address trying 40 ports,
    // each answered (by a reset), each tried once.
    const figures = spread(scanned.roundId)!;
    assert.deepEqual({ ...figures, from_port_out: undefined }, {
      inbound: 40,
      peer_in: "127.0.0.1",
      out: 40,
      peer_out: "127.0.0.1",
      from_port_out: undefined,
      peers_out: 1,
      unanswered_out: 0,
      attempts_per_peer_port_out: 1,
    });
    assert.ok((figures.from_port_out as number) > 0, "the scan's local port is named");
    assert.equal(spread(unseen.roundId), undefined, "nothing measured without capture");
  },
});

Deno.test({
  name: "SIGKILL during a round leaves an intact database with that round not complete",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const child = spawnPad(["--db", db, "collect", "--duration", "30s", "--interface", "lo"]);
    await sweepsStored(db);
    child.kill("SIGKILL");
    await child.output();

    assert.deepEqual(query(db, "PRAGMA integrity_check"), [{ integrity_check: "ok" }]);
    const [killed] = query(db, "SELECT * FROM rounds");
    assert.equal(killed!.status, "open");
    assert.equal(killed!.end_time, null);

    // The next collector marks it failed, and its own round completes.
    const next = await runPad([
      "--db",
      db,
      "collect",
      "--duration",
      "1s",
      "--no-capture",
      "--probe",
      "procfs",
    ]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /Marked 1 unfinished rounds as failed/);
    const rounds = query(db, "SELECT status, error FROM rounds ORDER BY id");
    assert.deepEqual(rounds, [
      { status: "failed", error: ABANDONED },
      { status: "complete", error: null },
    ]);
  },
});

/** The size of the capture ring a `pad collect` round with `flags` maps (packet_mmap(7)). */
async function ringOf(flags: string[]): Promise<number> {
  using dir = tempDir();
  const child = spawnPad([
    ...["--db", `${dir.path}/pad.db`, "collect", "--duration", "3s", "--interface", "lo"],
    ...["--probe", "procfs", ...flags],
  ]);
  // The ring is the process's one mapping of a socket.
  let ring = 0;
  await waitFor(() => {
    const line = Deno.readTextFileSync(`/proc/${child.pid}/maps`).split("\n")
      .find((l) => l.includes("socket:["));
    const [start, end] = (line?.split(" ")[0] ?? "").split("-").map((h) => parseInt(h, 16));
    ring = end! - start!;
    return ring > 0;
  }, "collect's capture ring");
  const output = await child.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return ring;
}

Deno.test({
  name: "--capture-buffer sets the size of the kernel's capture ring that collect maps",
  ignore: !isRoot,
  async fn() {
    assert.equal(await ringOf([]), DEFAULT_RING_BYTES);
    assert.equal(await ringOf(["--capture-buffer", "4"]), 4 * 1024 * 1024);
  },
});

Deno.test("two collectors started together: one runs the round, the other exits 4 at once", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const args = ["--db", db, "collect", "--duration", "2s", "--no-capture", "--probe", "procfs"];
  const [a, b] = await Promise.all([runPad(args), runPad(args)]);
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 4], a.stderr + b.stderr);
  const skipped = a.code === 4 ? a : b;
  assert.match(skipped.stderr, /Another pad collect is running on .*pad\.db/);
  assert.equal(skipped.stderr.trim().split("\n").length, 1);
  assert.equal(query(db, "SELECT count(*) AS n FROM rounds")[0]!.n, 1);
});

Deno.test("SIGTERM ends the round early: stored as failed with its sweeps, exit 1", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const child = spawnPad([
    "--db",
    db,
    "collect",
    "--duration",
    "30s",
    "--no-capture",
    "--probe",
    "procfs",
    "--interval",
    "100ms",
  ]);
  await sweepsStored(db, 2);
  child.kill("SIGTERM");
  const output = await child.output();
  assert.equal(output.code, 1);
  assert.match(
    new TextDecoder().decode(output.stderr),
    /interrupted \(SIGTERM\): stored as failed/,
  );
  const [round] = query(db, "SELECT status, sweeps, error FROM rounds");
  assert.equal(round!.status, "failed");
  assert.ok((round!.sweeps as number) >= 1);
  assert.ok(query(db, "SELECT count(*) AS n FROM rounds_ports")[0]!.n as number > 0);
});

/** Runs a one-second `pad collect` on lo under `prefix` (setpriv, unshare…). */
async function collectUnder(prefix: string[], db: string) {
  const args = [
    "--db",
    db,
    "collect",
    "--duration",
    "1s",
    "--probe",
    "procfs",
    "--interface",
    "lo",
  ];
  const output = await spawnPad(args, prefix).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test({
  name: "without capture permission the round keeps its sweeps, records why, warns once, exit 0",
  ignore: !isRoot || !commandExists("setpriv"),
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const run = await collectUnder([
      "setpriv",
      "--bounding-set",
      "-net_raw,-net_admin",
      "--inh-caps",
      "-net_raw,-net_admin",
    ], db);
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.stderr.trim().split("\n");
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(
      warnings[0]!,
      /Capture is off: no permission to capture on lo; .*setcap cap_net_raw,cap_net_admin=eip/,
    );
    const [round] = query(db, "SELECT status, sweeps, capture_off FROM rounds");
    assert.deepEqual(round, {
      status: "complete",
      sweeps: round!.sweeps,
      capture_off: "no permission to capture on lo",
    });
    assert.ok((round!.sweeps as number) >= 1);
  },
});

Deno.test({
  name: "without libpcap the round keeps its sweeps, records why, warns once, exit 0",
  ignore: !isRoot || !commandExists("unshare"),
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    // In a private mount namespace, every libpcap on the library path is hidden behind /dev/null.
    const libraries = [...Deno.readDirSync("/usr/lib/x86_64-linux-gnu")]
      .filter((e) => e.name.startsWith("libpcap.so")).map((e) =>
        `/usr/lib/x86_64-linux-gnu/${e.name}`
      );
    const hide = libraries.map((l) => `mount --bind /dev/null ${l}`).join(" && ");
    const run = await collectUnder(
      ["unshare", "--mount", "sh", "-c", `${hide} && exec "$@"`, "sh"],
      db,
    );
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.stderr.trim().split("\n");
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(warnings[0]!, /Capture is off: Cannot load libpcap.*install libpcap/);
    const [round] = query(db, "SELECT status, sweeps, capture_off FROM rounds");
    assert.equal(round!.status, "complete");
    assert.match(round!.capture_off as string, /Cannot load libpcap/);
  },
});

Deno.test("collect rejects a bad BPF filter with exit 2 before any round", async () => {
  if (!isRoot) return;
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const run = await runPad([
    "--db",
    db,
    "collect",
    "--interface",
    "lo",
    "--filter",
    "port nonsense",
    "--duration",
    "1s",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /Invalid --filter "port nonsense"/);
  assert.equal(query(db, "SELECT count(*) AS n FROM rounds")[0]!.n, 0);
});
