import assert from "node:assert/strict";
import { PadError } from "../src/errors.ts";
import { ListenProbe, parseProcNet, ProcfsProbe, type SweepResult } from "../src/probe/mod.ts";
import { isListeningState } from "../src/round.ts";
import {
  canRunAsNobody,
  freePortBlock,
  key,
  keys,
  openListener,
  sweepAsNobody,
} from "./support/listeners.ts";

// The literal lines below are what a little-endian kernel (x86-64, arm64) prints.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ownCommand = Deno.readTextFileSync("/proc/self/comm").trimEnd();

const TCP =
  `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1162 1 000000004df3a50a 100 0 0 10 0
   1: 0100007F:A0E2 0100007F:ED24 01 00000000:00000000 00:00000000 00000000  1000        0 73314 1 0000000011bc33a0 20 4 30 10 -1
   2: 0100007F:ED24 0100007F:A0E2 06 00000000:00000000 03:00001770 00000000     0        0 0 3 00000000a1c7f2e9
`;

const TCP6 =
  `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:A035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7010 1 0000000027ef74d6 100 0 0 10 0
   1: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7008 1 00000000cc410072 100 0 0 10 0
   2: 00000000000000000000000001000000:1F90 B80D0120000000000000000001000000:D431 01 00000000:00000000 00:00000000 00000000   33        0 9120 1 00000000cc410072 20 4 30 10 -1
`;

const UDP =
  `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 7185: 0100007F:81C1 0100007F:0009 01 00000000:00000000 00:00000000 00000000     0        0 7005 2 00000000ef7a0226 0
14979: 00000000:A033 00000000:0000 07 00000000:00000000 00:00000000 00000000    65534        0 7007 2 000000000a35e8bc 0
`;

Deno.test(
  "parseProcNet() decodes addresses, ports, states, uids and inodes of literal lines",
  { ignore: !littleEndian },
  () => {
    assert.deepEqual(parseProcNet(TCP, "tcp", 4), [
      {
        protocol: "tcp",
        family: 4,
        address: "0.0.0.0",
        port: 2024,
        remoteAddress: "0.0.0.0",
        remotePort: 0,
        state: "LISTEN",
        uid: 0,
        inode: 1162,
      },
      {
        protocol: "tcp",
        family: 4,
        address: "127.0.0.1",
        port: 41186,
        remoteAddress: "127.0.0.1",
        remotePort: 60708,
        state: "ESTABLISHED",
        uid: 1000,
        inode: 73314,
      },
      {
        protocol: "tcp",
        family: 4,
        address: "127.0.0.1",
        port: 60708,
        remoteAddress: "127.0.0.1",
        remotePort: 41186,
        state: "TIME_WAIT",
        uid: 0,
        inode: 0,
      },
    ]);
  },
);

Deno.test(
  "parseProcNet() counts an IPv4-mapped address in tcp6 as family 4 and shortens IPv6 addresses",
  { ignore: !littleEndian },
  () => {
    const sockets = parseProcNet(TCP6, "tcp", 6);
    assert.deepEqual(
      sockets.map((s) => [s.family, s.address, s.port, s.state, s.remoteAddress, s.remotePort]),
      [
        [4, "::ffff:127.0.0.1", 41013, "LISTEN", "::", 0],
        [6, "::", 22, "LISTEN", "::", 0],
        [6, "::1", 8080, "ESTABLISHED", "2001:db8::1", 54321],
      ],
    );
  },
);

Deno.test("parseProcNet() names unconnected UDP sockets UNCONN", { ignore: !littleEndian }, () => {
  const sockets = parseProcNet(UDP, "udp", 4);
  assert.deepEqual(
    sockets.map((s) => [s.address, s.port, s.state, s.uid, s.inode]),
    [["127.0.0.1", 33217, "ESTABLISHED", 0, 7005], ["0.0.0.0", 41011, "UNCONN", 65534, 7007]],
  );
  assert.ok(isListeningState("udp", "UNCONN"));
  assert.ok(!isListeningState("tcp", "UNCONN"));
});

Deno.test("parseProcNet() reads a table with only its header as no sockets", () => {
  assert.deepEqual(parseProcNet(TCP.split("\n")[0]! + "\n", "tcp", 4), []);
  assert.deepEqual(parseProcNet("", "udp", 6), []);
});

Deno.test("parseProcNet() rejects a line that is not in the kernel's format, naming it", () => {
  assert.throws(
    () => parseProcNet(TCP + "   3: 0100007F 0A\n", "tcp", 4),
    (error: Error) =>
      error instanceof SyntaxError && /Line 5 of \/proc\/net\/tcp/.test(error.message),
  );
  // An IPv4-length address in an IPv6 table.
  assert.throws(() => parseProcNet(TCP, "tcp", 6), SyntaxError);
});

Deno.test("ProcfsProbe finds TCP and UDP listeners on wildcard and loopback addresses, with this process as owner", async () => {
  const base = freePortBlock(4);
  const hosts = ["0.0.0.0", "127.0.0.1", "::1", "::"];
  const listeners = (["tcp", "udp"] as const).flatMap((protocol) =>
    hosts.map((hostname, i) => openListener(protocol, hostname, base + i))
  );
  try {
    const result = await new ProcfsProbe().sweep({ ports: [base, base + 3] });
    // A socket's own family: Deno's dual-stack `::` socket is one IPv6 socket.
    assert.deepEqual(
      result.occupied,
      (["tcp", "udp"] as const).flatMap((protocol) =>
        [[4, 0], [4, 1], [6, 2], [6, 3]].map(([family, i]) => ({
          port: base + i!,
          protocol,
          family,
          listening: true,
          address: hosts[i!],
          socketState: protocol === "tcp" ? "LISTEN" : "UNCONN",
          uid: Deno.uid(),
          pid: Deno.pid,
          command: ownCommand,
        }))
      ),
    );
    assert.equal(result.probe, "procfs");
    assert.deepEqual(result.unknown, []);
    assert.deepEqual(result.errors, []);
  } finally {
    for (const listener of listeners) listener.close();
  }
});

Deno.test("ProcfsProbe reports both ends of a live connection, the listener's port as LISTEN", async () => {
  const port = freePortBlock(1);
  using listener = Deno.listen({ hostname: "127.0.0.1", port });
  using client = await Deno.connect({ hostname: "127.0.0.1", port });
  using _server = await listener.accept();
  const local = (client.localAddr as Deno.NetAddr).port;
  const result = await new ProcfsProbe().sweep({ targets: [{ protocol: "tcp", family: 4 }] });
  const find = (p: number) => result.occupied.find((o) => o.port === p);
  assert.equal(find(port)?.socketState, "LISTEN");
  assert.equal(find(local)?.socketState, "ESTABLISHED");
  assert.equal(find(local)?.pid, Deno.pid);
  // The listen probe cannot bind the client's port either.
  const listen = await new ListenProbe().sweep({
    ports: [local, local],
    targets: [{ protocol: "tcp", family: 4 }],
  });
  assert.deepEqual(keys(listen), [`tcp4:${local}`]);
});

Deno.test("both probes read a port whose only socket is a server-side TIME_WAIT as free", async () => {
  const port = freePortBlock(1);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const server = await listener.accept();
  listener.close();
  // The side that closes first keeps the TIME_WAIT: here the accepted socket, which inherited
  // the listener's SO_REUSEADDR.
  server.close();
  await client.read(new Uint8Array(1));
  client.close();
  const deadline = Date.now() + 2_000;
  const timeWait = () =>
    parseProcNet(Deno.readTextFileSync("/proc/net/tcp"), "tcp", 4).some((s) =>
      s.port === port && s.state === "TIME_WAIT"
    );
  while (!timeWait() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(timeWait(), `port ${port} is in TIME_WAIT`);
  const options = {
    ports: [port, port] as const,
    targets: [{ protocol: "tcp", family: 4 } as const],
  };
  assert.deepEqual(keys(await new ProcfsProbe().sweep(options)), []);
  assert.deepEqual(keys(await new ListenProbe().sweep(options)), []);
});

Deno.test("ProcfsProbe and ListenProbe agree on the listening ports of the whole range", async () => {
  const base = freePortBlock(4);
  const hosts = ["0.0.0.0", "127.0.0.1", "::1", "::"];
  const listeners = (["tcp", "udp"] as const).flatMap((protocol) =>
    hosts.map((hostname, i) => openListener(protocol, hostname, base + i))
  );
  try {
    // Sockets come and go between sweeps (other tests, the system): retry a transient mismatch.
    let problems: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = await new ProcfsProbe().sweep();
      const listen = await new ListenProbe().sweep();
      const after = await new ProcfsProbe().sweep();
      problems = disagreements(before, listen, after);
      if (problems.length === 0) break;
    }
    assert.deepEqual(problems, []);
  } finally {
    for (const listener of listeners) listener.close();
  }
});

/**
 * What procfs and listen disagree on, restricted to what both can see: listening sockets present
 * in both procfs sweeps (the listen sweep ran between them). Tolerated, as documented in
 * src/probe: a dual-stack `::` socket is family 6 for procfs and families 4 and 6 for listen.
 */
function disagreements(before: SweepResult, listen: SweepResult, after: SweepResult): string[] {
  const stable = new Set(after.occupied.map((o) => `${key(o)}/${o.socketState}/${o.address}`));
  const listening = before.occupied.filter((o) =>
    isListeningState(o.protocol, o.socketState) &&
    stable.has(`${key(o)}/${o.socketState}/${o.address}`)
  );
  const listenKeys = new Set(listen.occupied.map(key));
  const procfsKeys = new Set(before.occupied.map(key));
  const problems: string[] = [];
  for (const socket of listening) {
    if (!listenKeys.has(key(socket))) problems.push(`listen misses ${key(socket)}`);
  }
  // Every family listen reports on those ports must be procfs's too, but for dual-stack sockets.
  const listeningPorts = new Set(listening.map((o) => `${o.protocol}:${o.port}`));
  for (const port of listen.occupied) {
    if (!listeningPorts.has(`${port.protocol}:${port.port}`)) continue;
    if (procfsKeys.has(key(port))) continue;
    const dualStack = listening.some((o) =>
      o.protocol === port.protocol && o.port === port.port && o.family === 6 && o.address === "::"
    );
    if (port.family === 4 && dualStack) continue;
    problems.push(`procfs misses ${key(port)}`);
  }
  return problems;
}

Deno.test("ProcfsProbe on a system without /proc/net says to use the listen probe", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      new ProcfsProbe({ root }).sweep(),
      (error: Error) => error instanceof PadError && error.message.includes('"--probe listen"'),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test(
  "ProcfsProbe run as an unprivileged user reports other users' ports with their uid but no pid, and no error",
  { ignore: !canRunAsNobody() },
  async () => {
    const port = freePortBlock(1);
    using _listener = openListener("tcp", "127.0.0.1", port);
    const result = await sweepAsNobody("procfs", {
      ports: [port, port],
      targets: [{ protocol: "tcp", family: 4 }],
    });
    assert.deepEqual(result.occupied, [
      {
        port,
        protocol: "tcp",
        family: 4,
        listening: true,
        address: "127.0.0.1",
        socketState: "LISTEN",
        uid: 0,
      },
    ]);
    assert.deepEqual(result.unknown, []);
    assert.deepEqual(result.errors, []);
  },
);

Deno.test("ProcfsProbe stops when its signal aborts", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stop now"));
  await assert.rejects(new ProcfsProbe().sweep({ signal: controller.signal }), /stop now/);
});
