import assert from "node:assert/strict";
import { createProbe, ListenProbe, ProcfsProbe, type SweepResult } from "../src/probe/mod.ts";
import type { Family, Protocol } from "../src/round.ts";
import {
  canRunAsNobody,
  commandExists,
  freePortBlock,
  holdWithPython,
  keys,
  openListener,
  sweepAsNobody,
  unprivilegedPortStart,
} from "./support/listeners.ts";

function has(result: SweepResult, protocol: Protocol, family: Family, port: number): boolean {
  return result.occupied.some((o) =>
    o.protocol === protocol && o.family === family && o.port === port
  );
}

Deno.test("ListenProbe finds TCP and UDP listeners on wildcard and loopback addresses of both families", async () => {
  const base = freePortBlock(4);
  const hosts = ["0.0.0.0", "127.0.0.1", "::1", "::"];
  const listeners = ["tcp", "udp"].flatMap((protocol) =>
    hosts.map((hostname, i) => openListener(protocol as Protocol, hostname, base + i))
  );
  try {
    const result = await new ListenProbe().sweep({ ports: [base, base + 3] });
    // Deno's `::` socket is dual-stack: IPv4 binds of its port fail too, so it is in family 4.
    const expected = ["tcp", "udp"].flatMap((p) => [
      `${p}4:${base}`,
      `${p}4:${base + 1}`,
      `${p}4:${base + 3}`,
      `${p}6:${base + 2}`,
      `${p}6:${base + 3}`,
    ]);
    assert.deepEqual(keys(result), expected);
    assert.equal(result.probe, "listen");
    assert.deepEqual(result.unknown, []);
    assert.deepEqual(result.errors, []);
  } finally {
    for (const listener of listeners) listener.close();
  }
});

for (const probe of [new ListenProbe(), new ProcfsProbe()]) {
  Deno.test(`${probe.name} probe no longer reports a port once its listener is closed`, async () => {
    const port = freePortBlock(1);
    const tcp = openListener("tcp", "::1", port);
    const udp = openListener("udp", "127.0.0.1", port);
    const before = await probe.sweep({ ports: [port, port] });
    tcp.close();
    udp.close();
    const after = await probe.sweep({ ports: [port, port] });
    assert.deepEqual(keys(before), [`tcp6:${port}`, `udp4:${port}`]);
    assert.deepEqual(keys(after), []);
  });
}

Deno.test("ListenProbe sweeps the full range 1–65535, port 65535 included", async () => {
  let listener;
  try {
    listener = openListener("tcp", "0.0.0.0", 65_535);
  } catch (error) {
    // Someone else holds it: the sweep must then report it all the same.
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
  }
  try {
    const result = await new ListenProbe().sweep({ targets: [{ protocol: "tcp", family: 4 }] });
    assert.ok(has(result, "tcp", 4, 65_535), "port 65535 is reported occupied");
    assert.ok(result.occupied.every((o) => o.protocol === "tcp" && o.family === 4));
    assert.ok(result.occupied.every((o) => o.port >= 1 && o.port <= 65_535));
    if (Deno.uid() === 0) assert.deepEqual(result.unknown, []);
    assert.deepEqual(result.errors, []);
  } finally {
    listener?.close();
  }
});

Deno.test("ListenProbe sweeps only the targets it is given", async () => {
  const port = freePortBlock(1);
  using _tcp = openListener("tcp", "0.0.0.0", port);
  using _udp = openListener("udp", "::1", port);
  const probe = new ListenProbe();
  const udp6 = await probe.sweep({
    ports: [port, port],
    targets: [{ protocol: "udp", family: 6 }],
  });
  const tcp6 = await probe.sweep({
    ports: [port, port],
    targets: [{ protocol: "tcp", family: 6 }],
  });
  assert.deepEqual(keys(udp6), [`udp6:${port}`]);
  // An IPv4-only listener does not make the port occupied for IPv6.
  assert.deepEqual(keys(tcp6), []);
});

Deno.test(
  "both probes report an IPV6_V6ONLY socket as family 6 only and a mapped-address socket as family 4 only",
  { ignore: !commandExists("python3") },
  async () => {
    const base = freePortBlock(4);
    await using python = await holdWithPython([
      { protocol: "tcp", hostname: "::", port: base, v6only: true },
      { protocol: "udp", hostname: "::", port: base + 1, v6only: true },
      { protocol: "tcp", hostname: "::ffff:127.0.0.1", port: base + 2 },
      { protocol: "udp", hostname: "::ffff:127.0.0.1", port: base + 3 },
    ]);
    const expected = [`tcp4:${base + 2}`, `tcp6:${base}`, `udp4:${base + 3}`, `udp6:${base + 1}`];
    const listen = await new ListenProbe().sweep({ ports: [base, base + 3] });
    const procfs = await new ProcfsProbe().sweep({ ports: [base, base + 3] });
    assert.deepEqual(keys(listen), expected);
    assert.deepEqual(keys(procfs), expected);
    assert.deepEqual(procfs.occupied.map((o) => [o.address, o.pid]), [
      ["::ffff:127.0.0.1", python.pid],
      ["::", python.pid],
      ["::ffff:127.0.0.1", python.pid],
      ["::", python.pid],
    ]);
  },
);

Deno.test("ListenProbe keeps the event loop turning during a sweep", async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const result = await new ListenProbe({ yieldEveryMs: 10 }).sweep({
      ports: [20_000, 39_999],
      targets: [{ protocol: "udp", family: 4 }],
    });
    // About one tick per 10 ms of sweeping; a blocked loop would show none at all.
    assert.ok(
      ticks >= result.durationMs / 40,
      `${ticks} timer ticks in ${result.durationMs.toFixed(0)} ms`,
    );
  } finally {
    clearInterval(timer);
  }
});

Deno.test("ListenProbe stops between chunks when its signal aborts", async () => {
  const controller = new AbortController();
  const reason = new Error("stop now");
  setTimeout(() => controller.abort(reason), 30);
  const started = performance.now();
  await assert.rejects(new ListenProbe().sweep({ signal: controller.signal }), (error) => {
    assert.equal(error, reason);
    return true;
  });
  // A whole sweep of four targets takes about 2 s.
  assert.ok(performance.now() - started < 500, "the sweep stopped early");
});

Deno.test("ListenProbe rejects a reversed or out-of-range port range", async () => {
  const probe = new ListenProbe();
  await assert.rejects(probe.sweep({ ports: [0, 10] }), RangeError);
  await assert.rejects(probe.sweep({ ports: [10, 65_536] }), RangeError);
  await assert.rejects(probe.sweep({ ports: [20, 10] }), RangeError);
  await assert.rejects(probe.sweep({ ports: [1.5, 10] }), RangeError);
});

Deno.test("createProbe() makes each probe by name and rejects others", () => {
  assert.equal(createProbe("listen").name, "listen");
  assert.equal(createProbe("procfs").name, "procfs");
  assert.throws(() => createProbe("nmap" as "listen"), RangeError);
});

Deno.test("ListenProbe refuses UDP without --unstable-net instead of marking every port busy", async () => {
  const probeUrl = new URL("../src/probe/mod.ts", import.meta.url).href;
  const script = `import { ListenProbe } from ${JSON.stringify(probeUrl)};
await new ListenProbe().sweep({ ports: [40000, 40001], targets: [{ protocol: "udp", family: 4 }] });`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.success, false);
  assert.match(stderr, /needs the --unstable-net flag/);
});

Deno.test(
  "ListenProbe run as an unprivileged user counts ports below ip_unprivileged_port_start as unknown, never occupied",
  { ignore: !canRunAsNobody() },
  async () => {
    const start = unprivilegedPortStart();
    // A real low listener held by root: as nobody it is unknown like the free ports around it,
    // since the kernel refuses the bind before it looks for a conflict.
    const low = freePortBelow(start > 1 ? Math.min(start, 1024) : 1024);
    const high = freePortBlock(1);
    using _low = openListener("tcp", "0.0.0.0", low);
    using _high = openListener("tcp", "0.0.0.0", high);
    const privileged = await sweepAsNobody("listen", { ports: [1, 1023] });
    const unprivileged = await sweepAsNobody("listen", {
      ports: [high, high],
      targets: [{ protocol: "tcp", family: 4 }],
    });
    const below = Math.max(0, Math.min(1023, start - 1));
    assert.ok(privileged.occupied.every((o) => o.port >= start), "no privileged port is occupied");
    assert.equal(has(privileged, "tcp", 4, low), low >= start);
    assert.deepEqual(
      privileged.unknown,
      below === 0 ? [] : [
        { protocol: "tcp", family: 4, ports: below },
        { protocol: "tcp", family: 6, ports: below },
        { protocol: "udp", family: 4, ports: below },
        { protocol: "udp", family: 6, ports: below },
      ],
    );
    assert.deepEqual(privileged.errors, []);
    // The same unprivileged sweep does see an occupied port it may bind.
    assert.deepEqual(keys(unprivileged), [`tcp4:${high}`]);
  },
);

/** The highest port below `limit` that is free for TCP on both families, to hold as root. */
function freePortBelow(limit: number): number {
  for (let port = limit - 1; port >= 1; port--) {
    try {
      openListener("tcp", "::", port).close();
      return port;
    } catch {
      // Taken; try the next one down.
    }
  }
  throw new Error("Found no free port below 1024");
}
