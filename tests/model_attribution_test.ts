import assert from "node:assert/strict";
import { attribute } from "../src/model/attribution.ts";
import { binFeatureIndex, featureLayout, globalFeatureIndex, portBin } from "../src/model/mod.ts";
import { NO_ATTEMPTS, type RoundData } from "../src/round.ts";

const layout = featureLayout(256);

function round(overrides: Partial<RoundData>): RoundData {
  return {
    id: 1,
    startTime: 0,
    occupied: [],
    traffic: [],
    dns: { queries: 0, maxNameLength: 0, meanNameLength: 0 },
    attempts: NO_ATTEMPTS,
    captured: true,
    ...overrides,
  };
}

function errorsAt(entries: [number, number][]): Float32Array {
  const errors = new Float32Array(layout.length);
  for (const [index, value] of entries) errors[index] = value;
  return errors;
}

Deno.test("attribute() names the listener behind a listener channel's error, with its process", () => {
  const r = round({
    occupied: [
      { port: 41_234, protocol: "tcp", family: 4, listening: true, pid: 6666, command: "nc" },
      { port: 41_234, protocol: "tcp", family: 6, listening: true, pid: 6666, command: "nc" },
      { port: 41_000, protocol: "tcp", family: 4, listening: false, pid: 12, command: "curl" },
    ],
  });
  const bin = portBin(layout, 41_234);
  const ranked = attribute(
    errorsAt([[binFeatureIndex(layout, bin, "tcp_listen"), 900]]),
    r,
    layout,
  );
  assert.deepEqual(ranked, [
    { port: 41_234, protocol: "tcp", error: 900, share: 1, pid: 6666, command: "nc" },
  ]);
});

Deno.test("attribute() shares a traffic channel's error by each port's packets", () => {
  const r = round({
    traffic: [
      {
        port: 53,
        protocol: "udp",
        direction: "in",
        packets: 300,
        bytes: 1,
        peers: 1,
        remotePorts: 1,
      },
      {
        port: 123,
        protocol: "udp",
        direction: "in",
        packets: 100,
        bytes: 1,
        peers: 1,
        remotePorts: 1,
      },
      {
        port: 80,
        protocol: "tcp",
        direction: "in",
        packets: 900,
        bytes: 1,
        peers: 1,
        remotePorts: 1,
      },
    ],
  });
  const ranked = attribute(
    errorsAt([[binFeatureIndex(layout, 0, "udp_in_packets"), 40], [0, 0]]),
    r,
    layout,
  );
  assert.deepEqual(ranked.map((p) => [p.port, p.protocol, p.error]), [[53, "udp", 30], [
    123,
    "udp",
    10,
  ]]);
  assert.equal(ranked[0]!.pid, null);
});

Deno.test("attribute() follows the features that make the score, bins and totals, and ranks ports", () => {
  const r = round({
    occupied: [5000, 5001, 5002].map((port) => ({
      port,
      protocol: "tcp" as const,
      family: 4 as const,
      listening: false,
      pid: port,
      command: "client",
    })),
    traffic: [
      {
        port: 5001,
        protocol: "tcp",
        direction: "out",
        packets: 10,
        bytes: 1,
        peers: 1,
        remotePorts: 400,
      },
      {
        port: 443,
        protocol: "tcp",
        direction: "in",
        packets: 10,
        bytes: 900,
        peers: 1,
        remotePorts: 1,
      },
    ],
  });
  const bin = portBin(layout, 5000);
  const errors = errorsAt([
    [binFeatureIndex(layout, bin, "tcp_other"), 30],
    [binFeatureIndex(layout, bin, "out_remote_ports"), 50],
    [globalFeatureIndex(layout, "max_remote_ports_out"), 20],
    [binFeatureIndex(layout, portBin(layout, 443), "in_bytes"), 4.9], // under a tenth of 50
  ]);
  const ranked = attribute(errors, r, layout, { limit: 2 });
  assert.deepEqual(ranked.map((p) => [p.port, p.error, p.share, p.command]), [
    [5001, 80, 0.8, "client"],
    [5000, 10, 0.1, "client"],
  ]);
  const all = attribute(errors, r, layout, { relevance: 0 });
  assert.equal(all.length, 4);
  assert.equal(all.at(-1)!.port, 443);
});

Deno.test("attribute() gives portless traffic's error to port null", () => {
  const r = round({
    traffic: [
      {
        port: null,
        protocol: "icmp",
        direction: "in",
        packets: 9000,
        bytes: 1,
        peers: 1,
        remotePorts: 0,
      },
      {
        port: null,
        protocol: "icmpv6",
        direction: "in",
        packets: 1000,
        bytes: 1,
        peers: 1,
        remotePorts: 0,
      },
    ],
  });
  const ranked = attribute(
    errorsAt([[globalFeatureIndex(layout, "portless_packets_in"), 10]]),
    r,
    layout,
  );
  assert.deepEqual(ranked.map((p) => [p.port, p.protocol, p.error]), [[null, "icmp", 9], [
    null,
    "icmpv6",
    1,
  ]]);
});

Deno.test("attribute() names nothing for a port that vanished, or for no error", () => {
  const bin = portBin(layout, 8080);
  const errors = errorsAt([[binFeatureIndex(layout, bin, "tcp_listen"), 100]]);
  assert.deepEqual(attribute(errors, round({}), layout), []);
  assert.deepEqual(attribute(new Float32Array(layout.length), round({}), layout), []);
  assert.throws(() => attribute(new Float32Array(3), round({}), layout), RangeError);
});
