import assert from "node:assert/strict";
import { findAllDevices, PcapError, PcapStatus } from "../ffi/mod.ts";
import type { DecodedPacket, DecodeResult } from "../src/capture/decode.ts";
import { defaultInterface, startLiveCapture } from "../src/capture/live.ts";

const canCapture = Deno.uid() === 0 && Deno.build.os === "linux";
const NOT_ROOT = "live capture on lo needs root (CAP_NET_RAW) on Linux";

const encoder = new TextEncoder();

/** Collects the decoded IP packets a capture delivers. */
function collector() {
  const packets: DecodedPacket[] = [];
  const others: DecodeResult[] = [];
  return {
    packets,
    others,
    onBatch(results: DecodeResult[]) {
      for (const result of results) {
        if (result.kind === "ip") packets.push(result.packet);
        else others.push(result);
      }
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

for (const thread of ["worker", "caller"] as const) {
  for (const reader of ["ring", "libpcap"] as const) {
    Deno.test({
      name:
        `startLiveCapture() on lo, thread: ${thread}, reader: ${reader}, counts exactly the UDP datagrams and TCP connections sent over IPv4 and IPv6`,
      ignore: !canCapture,
      fn: () => countsExactly(thread, reader),
    });
  }
}

async function countsExactly(thread: "worker" | "caller", reader: "ring" | "libpcap") {
  const DATAGRAMS = 300;
  const CONNECTIONS = 15;
  const udpSinks = [
    Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
    Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 }),
  ];
  const tcpListeners = [
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    Deno.listen({ hostname: "::1", port: 0 }),
  ];
  const udpPorts = udpSinks.map((s) => (s.addr as Deno.NetAddr).port);
  const tcpPorts = tcpListeners.map((l) => l.addr.port);
  const filter = [
    ...udpPorts.map((p) => `udp port ${p}`),
    ...tcpPorts.map((p) => `tcp port ${p}`),
  ].join(" or ");
  const seen = collector();
  const capture = await startLiveCapture({
    device: "lo",
    filter,
    onBatch: seen.onBatch,
    thread,
    reader,
  });
  try {
    assert.equal(capture.device, "lo");
    assert.equal(capture.linkType, 1); // Linux presents lo as Ethernet
    assert.equal(capture.reader, reader);
    const senders = [
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
      Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 }),
    ];
    for (let i = 0; i < DATAGRAMS; i++) {
      for (const [j, sender] of senders.entries()) {
        const hostname = j === 0 ? "127.0.0.1" : "::1";
        await sender.send(encoder.encode(`datagram ${i}`), {
          transport: "udp",
          hostname,
          port: udpPorts[j]!,
        });
      }
    }
    for (const sender of senders) sender.close();
    const accepting = tcpListeners.map(async (listener) => {
      for (let i = 0; i < CONNECTIONS; i++) {
        const connection = await listener.accept();
        await connection.read(new Uint8Array(16));
        connection.close();
      }
    });
    for (let i = 0; i < CONNECTIONS; i++) {
      for (const [j, port] of tcpPorts.entries()) {
        const connection = await Deno.connect({ hostname: j === 0 ? "127.0.0.1" : "::1", port });
        await connection.write(encoder.encode("hello"));
        await connection.read(new Uint8Array(16)); // until the server closes
        connection.close();
      }
    }
    await Promise.all(accepting);
    const udpCount = (port: number) =>
      seen.packets.filter((p) => p.transport === "udp" && p.dstPort === port).length;
    await waitFor(() => udpPorts.every((p) => udpCount(p) === DATAGRAMS), 3000);
  } finally {
    for (const socket of [...udpSinks, ...tcpListeners]) socket.close();
  }
  const summary = await capture.stop();
  const udp = (port: number) =>
    seen.packets.filter((p) => p.transport === "udp" && p.dstPort === port);
  const syns = (port: number) =>
    seen.packets.filter((p) => p.dstPort === port && p.tcpFlags === 0x02);
  const synAcks = (port: number) =>
    seen.packets.filter((p) => p.srcPort === port && p.tcpFlags === 0x12);
  assert.equal(udp(udpPorts[0]!).length, DATAGRAMS);
  assert.equal(udp(udpPorts[1]!).length, DATAGRAMS);
  assert.ok(
    udp(udpPorts[0]!).every((p) =>
      p.family === 4 && p.src === "127.0.0.1" && p.protocols === "eth:ipv4:udp"
    ),
  );
  assert.ok(
    udp(udpPorts[1]!).every((p) =>
      p.family === 6 && p.dst === "::1" && p.protocols === "eth:ipv6:udp"
    ),
  );
  assert.equal(new TextDecoder().decode(udp(udpPorts[1]!)[7]!.payload), "datagram 7");
  for (const port of tcpPorts) {
    assert.equal(syns(port).length, CONNECTIONS);
    assert.equal(synAcks(port).length, CONNECTIONS);
  }
  assert.equal(seen.others.length, 0);
  assert.equal(summary.stats.dropped, 0);
  assert.equal(summary.stats.ifDropped, 0);
  assert.equal(summary.counts.frames, seen.packets.length);
  assert.equal(summary.counts.malformed, 0);
}

Deno.test({
  name: "startLiveCapture() keeps every packet while the caller's thread is blocked",
  ignore: !canCapture,
  async fn() {
    const DATAGRAMS = 20_000;
    const sink = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = (sink.addr as Deno.NetAddr).port;
    let count = 0;
    const capture = await startLiveCapture({
      device: "lo",
      filter: `udp dst port ${port}`,
      onBatch: (results) => (count += results.length),
    });
    // A separate process sends, since this thread is about to be busy.
    const sender = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--unstable-net",
        `const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
         const data = new Uint8Array(64);
         for (let i = 0; i < ${DATAGRAMS}; i++) await s.send(data, { transport: "udp", hostname: "127.0.0.1", port: ${port} });
         s.close();`,
      ],
    }).spawn();
    // Synchronous work standing in for a port sweep: nothing on this thread runs meanwhile.
    const busyUntil = Date.now() + 1500;
    let spins = 0;
    while (Date.now() < busyUntil) spins++;
    assert.ok(spins > 0);
    const status = await sender.status;
    assert.equal(status.code, 0);
    await waitFor(() => count === DATAGRAMS, 3000);
    const summary = await capture.stop();
    sink.close();
    assert.equal(count, DATAGRAMS);
    assert.equal(summary.stats.dropped, 0);
  },
});

Deno.test({
  name: "startLiveCapture() rejects a nonexistent interface with a PcapError naming it",
  ignore: !canCapture,
  async fn() {
    await assert.rejects(
      startLiveCapture({ device: "pad-missing0", onBatch: () => {} }),
      (error: unknown) => {
        assert.ok(error instanceof PcapError);
        assert.equal(error.code, PcapStatus.NO_SUCH_DEVICE);
        assert.match(error.message, /^Cannot start capture on "pad-missing0": No such device/);
        return true;
      },
    );
  },
});

Deno.test({
  name: "startLiveCapture() rejects a bad BPF filter with libpcap's message",
  ignore: !canCapture,
  async fn() {
    await assert.rejects(
      startLiveCapture({ device: "lo", filter: "tcp port banana split", onBatch: () => {} }),
      (error: unknown) => {
        assert.ok(error instanceof PcapError);
        assert.match(error.message, /^Invalid capture filter "tcp port banana split": /);
        assert.ok(error.libpcapMessage.length > 0);
        return true;
      },
    );
  },
});

for (const thread of ["worker", "caller"] as const) {
  Deno.test({
    name:
      `LiveCapture.stop(), thread: ${thread}, rejects with the error onBatch threw, and reports it to onError`,
    ignore: !canCapture,
    fn: () => reportsConsumerError(thread),
  });
}

async function reportsConsumerError(thread: "worker" | "caller") {
  const sink = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (sink.addr as Deno.NetAddr).port;
  const reported: Error[] = [];
  const capture = await startLiveCapture({
    device: "lo",
    filter: `udp dst port ${port}`,
    onBatch: () => {
      throw new Error("consumer broke");
    },
    onError: (error) => reported.push(error),
    thread,
  });
  await sink.send(new Uint8Array(4), { transport: "udp", hostname: "127.0.0.1", port });
  await waitFor(() => reported.length > 0, 3000);
  sink.close();
  assert.equal(reported[0]?.message, "consumer broke");
  await assert.rejects(capture.stop(), /consumer broke/);
}

Deno.test("defaultInterface() picks an up, non-loopback interface with an address, or null", () => {
  const name = defaultInterface();
  const devices = findAllDevices();
  if (name === null) {
    assert.ok(!devices.some((d) => d.flags.up && !d.flags.loopback && d.addresses.length > 0));
    return;
  }
  const device = devices.find((d) => d.name === name);
  assert.ok(device);
  assert.equal(device.flags.up, true);
  assert.equal(device.flags.loopback, false);
  assert.ok(device.addresses.length > 0);
});

if (!canCapture) console.warn(`Skipping live capture tests: ${NOT_ROOT}`);
