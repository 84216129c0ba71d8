import assert from "node:assert/strict";
import {
  binFeatureIndex,
  CHANNELS,
  DEFAULT_BINS,
  describeFeature,
  encodeRound,
  ENCODING_VERSION,
  featureLayout,
  globalFeatureIndex,
  GLOBALS,
  portBin,
  scoredFeatures,
} from "../src/model/mod.ts";
import { NO_ATTEMPTS, type RoundData } from "../src/round.ts";
import { buildWindows, copyWindow, lastRound, selectWindows } from "../src/model/windows.ts";
import { generateHistory, injectListener } from "../fixtures/synthetic.ts";

function round(overrides: Partial<RoundData> = {}): RoundData {
  return {
    id: 1,
    startTime: Date.UTC(2026, 2, 2, 6),
    occupied: [],
    traffic: [],
    dns: { queries: 0, maxNameLength: 0, meanNameLength: 0 },
    attempts: NO_ATTEMPTS,
    captured: true,
    ...overrides,
  };
}

/** Indices where two encodings differ. */
function changed(a: Float32Array, b: Float32Array): number[] {
  return [...a.keys()].filter((i) => a[i] !== b[i]);
}

Deno.test("featureLayout() folds all 65,536 ports into bins and names its encoding", () => {
  const layout = featureLayout();
  assert.equal(layout.bins, DEFAULT_BINS);
  assert.equal(layout.portsPerBin * layout.bins, 65_536);
  assert.equal(layout.length, layout.bins * CHANNELS.length + GLOBALS.length);
  assert.equal(layout.id, `pad-features-v${ENCODING_VERSION}/bins-${DEFAULT_BINS}`);
  assert.notEqual(featureLayout(256).id, layout.id);
  assert.equal(portBin(layout, 0), 0);
  assert.equal(portBin(layout, 65_535), layout.bins - 1);
  assert.throws(() => featureLayout(100), RangeError);
  assert.throws(() => featureLayout(8), RangeError);
});

Deno.test("encodeRound() gives a fixed-length, finite vector", () => {
  const layout = featureLayout();
  for (const r of generateHistory({ seed: 3, rounds: 30 })) {
    const encoded = encodeRound(r, layout);
    assert.equal(encoded.length, layout.length);
    assert.ok(encoded.every(Number.isFinite));
  }
  assert.equal(encodeRound(round()).length, layout.length);
});

Deno.test("encodeRound() moves on a new listener on any port, 41234 included", () => {
  const layout = featureLayout();
  const base = generateHistory({ seed: 5, rounds: 1 })[0]!;
  const before = encodeRound(base, layout);
  const after = encodeRound(injectListener(base, 41_234), layout);
  const diff = changed(before, after);
  assert.ok(diff.includes(binFeatureIndex(layout, portBin(layout, 41_234), "tcp_listen")));
  assert.ok(diff.includes(globalFeatureIndex(layout, "listeners")));
  // Only the listener's bin and the occupancy totals move.
  for (const i of diff) {
    const name = describeFeature(layout, i);
    if (name.kind === "bin") assert.equal(name.bin, portBin(layout, 41_234));
    else assert.ok(["tcp_occupied", "listeners", "ephemeral_occupied"].includes(name.name));
  }
  for (const port of [1, 1023, 50_000, 65_535]) {
    const moved = encodeRound(round({ occupied: [listener(port)] }), layout);
    assert.ok(moved[binFeatureIndex(layout, portBin(layout, port), "tcp_listen")]! > 0, `${port}`);
  }
});

function listener(port: number, family: 4 | 6 = 4, listening: boolean | null = true) {
  return { port, protocol: "tcp" as const, family, listening };
}

Deno.test("encodeRound() counts a port once whatever its families, and null state as listening", () => {
  const layout = featureLayout();
  const one = encodeRound(round({ occupied: [listener(8080)] }), layout);
  const dual = encodeRound(round({ occupied: [listener(8080, 4), listener(8080, 6)] }), layout);
  assert.deepEqual(dual, one);
  const probed = encodeRound(round({ occupied: [listener(8080, 4, null)] }), layout);
  assert.deepEqual(probed, one);
  const connected = encodeRound(round({ occupied: [listener(8080, 4, false)] }), layout);
  const bin = portBin(layout, 8080);
  assert.equal(connected[binFeatureIndex(layout, bin, "tcp_listen")], 0);
  assert.ok(connected[binFeatureIndex(layout, bin, "tcp_other")]! > 0);
  // One port in an empty bin is 1 / log2(1 + portsPerBin).
  assert.ok(
    Math.abs(
      one[binFeatureIndex(layout, bin, "tcp_listen")]! - 1 / Math.log2(1 + layout.portsPerBin),
    ) < 1e-6,
  );
});

Deno.test("encodeRound() keeps traffic per direction and protocol, and scales it to [0, 1]", () => {
  const layout = featureLayout();
  const encoded = encodeRound(
    round({
      traffic: [
        {
          port: 53,
          protocol: "udp",
          direction: "in",
          packets: 100,
          bytes: 8000,
          peers: 3,
          remotePorts: 90,
        },
        {
          port: 53,
          protocol: "udp",
          direction: "out",
          packets: 100,
          bytes: 16_000,
          peers: 3,
          remotePorts: 90,
        },
        {
          port: 80,
          protocol: "tcp",
          direction: "in",
          packets: 5,
          bytes: 900,
          peers: 1,
          remotePorts: 2,
        },
        {
          port: null,
          protocol: "icmp",
          direction: "in",
          packets: 2,
          bytes: 168,
          peers: 1,
          remotePorts: 0,
        },
      ],
    }),
    layout,
  );
  const at = (channel: (typeof CHANNELS)[number]) => encoded[binFeatureIndex(layout, 0, channel)]!;
  assert.ok(at("udp_in_packets") > at("tcp_in_packets"));
  assert.ok(at("udp_out_packets") > 0);
  assert.equal(at("tcp_out_packets"), 0);
  assert.ok(Math.abs(at("in_ports") - Math.log2(3) / Math.log2(1 + layout.portsPerBin)) < 1e-6); // 53/udp, 80/tcp
  assert.ok(at("in_remote_ports") > 0 && at("in_remote_ports") < 1);
  assert.ok(encoded[globalFeatureIndex(layout, "portless_packets_in")]! > 0);
  assert.ok(encoded[globalFeatureIndex(layout, "udp_packets_in")]! > 0);
  assert.ok(encoded.every((v) => v >= -1 && v <= 1));
});

Deno.test("encodeRound() gives the connection attempts' spread each way on the port-count scale", () => {
  const layout = featureLayout();
  const spreadOf = (spread: { in: number; out: number }) => {
    const attempts = { ...NO_ATTEMPTS, portsPerPeerIn: spread.in, portsPerPeerOut: spread.out };
    const encoded = encodeRound(round({ attempts }), layout);
    return [
      encoded[globalFeatureIndex(layout, "syn_ports_per_peer_in")]!,
      encoded[globalFeatureIndex(layout, "syn_ports_per_peer_out")]!,
    ];
  };
  const [oneIn, none] = spreadOf({ in: 1, out: 0 });
  assert.ok(Math.abs(oneIn! - Math.log(2) / Math.log(65_537)) < 1e-6);
  assert.equal(none, 0);
  // A scan of 1,000 ports is ten times one client's single port on this scale.
  const [, scan] = spreadOf({ in: 0, out: 1_000 });
  assert.ok(scan! / oneIn! > 9.9 && scan! < 1, `scan ${scan}`);
  // Nonsense from a damaged database stays in range.
  assert.deepEqual(spreadOf({ in: -5, out: Number.NaN }), [0, 0]);
  const masked = scoredFeatures(layout, encodeRound(round({ captured: false }), layout));
  assert.equal(masked[globalFeatureIndex(layout, "syn_ports_per_peer_in")], 0);
});

Deno.test("encodeRound() leaves traffic out when capture was off, and the score ignores the unknown", () => {
  const layout = featureLayout();
  const base = generateHistory({ seed: 9, rounds: 1 })[0]!;
  const off = encodeRound({ ...base, captured: false }, layout);
  const mask = scoredFeatures(layout, off);
  assert.equal(off[globalFeatureIndex(layout, "captured")], 0);
  for (let i = 0; i < layout.length; i++) {
    const name = describeFeature(layout, i);
    const traffic = name.kind === "bin"
      ? CHANNELS.indexOf(name.channel) >= 4
      : GLOBALS.indexOf(name.name) >= GLOBALS.indexOf("tcp_packets_in") &&
        GLOBALS.indexOf(name.name) <= GLOBALS.indexOf("dns_name_mean");
    if (traffic) {
      assert.equal(off[i], 0, JSON.stringify(name));
      assert.equal(mask[i], 0, JSON.stringify(name));
    }
  }
  const on = scoredFeatures(layout, encodeRound(base, layout));
  assert.equal(on[binFeatureIndex(layout, 0, "in_bytes")], 1);
  assert.equal(on[globalFeatureIndex(layout, "hour_sin")], 0);
  assert.equal(on[globalFeatureIndex(layout, "captured")], 0);
  assert.equal(on[globalFeatureIndex(layout, "dns_name_max")], 1);
  const quiet = encodeRound({ ...base, dns: { queries: 0, maxNameLength: 0, meanNameLength: 0 } });
  assert.equal(scoredFeatures(layout, quiet)[globalFeatureIndex(layout, "dns_name_max")], 0);
  assert.equal(scoredFeatures(layout, quiet)[globalFeatureIndex(layout, "dns_queries")], 1);
});

Deno.test("encodeRound() gives the hour of day (UTC) as sine and cosine", () => {
  const layout = featureLayout();
  const six = encodeRound(round({ startTime: Date.UTC(2026, 2, 2, 6) }), layout);
  assert.ok(Math.abs(six[globalFeatureIndex(layout, "hour_sin")]! - 1) < 1e-6);
  assert.ok(Math.abs(six[globalFeatureIndex(layout, "hour_cos")]!) < 1e-6);
  const midnight = encodeRound(round({ startTime: Date.UTC(2026, 2, 3) }), layout);
  assert.ok(Math.abs(midnight[globalFeatureIndex(layout, "hour_cos")]! - 1) < 1e-6);
});

Deno.test("describeFeature() names every index", () => {
  const layout = featureLayout(64);
  assert.deepEqual(describeFeature(layout, binFeatureIndex(layout, 3, "udp_listen")), {
    kind: "bin",
    bin: 3,
    channel: "udp_listen",
    firstPort: 3072,
    lastPort: 4095,
  });
  assert.deepEqual(describeFeature(layout, globalFeatureIndex(layout, "dns_queries")), {
    kind: "global",
    name: "dns_queries",
  });
  assert.throws(() => describeFeature(layout, layout.length), RangeError);
});

Deno.test("buildWindows() ends each window at its round and pads the first with the earliest", () => {
  const rounds = [1, 2, 3, 4].map((v) => new Float32Array([v, -v]));
  const batch = buildWindows(rounds, 3);
  assert.deepEqual(batch.ends, [0, 1, 2, 3]);
  const out = new Float32Array(6);
  copyWindow(batch, 0, out);
  assert.deepEqual([...out], [1, -1, 1, -1, 1, -1]);
  copyWindow(batch, 1, out);
  assert.deepEqual([...out], [1, -1, 1, -1, 2, -2]);
  copyWindow(batch, 3, out);
  assert.deepEqual([...out], [2, -2, 3, -3, 4, -4]);
  assert.deepEqual([...lastRound(batch, 2)], [3, -3]);

  const fresh = buildWindows(rounds, 3, 2); // two rounds of context: no padding
  assert.deepEqual(fresh.ends, [2, 3]);
  const picked = selectWindows(fresh, [1]);
  assert.deepEqual(picked.ends, [3]);
  assert.throws(() => selectWindows(fresh, [2]), RangeError);
  assert.throws(() => buildWindows(rounds, 0), RangeError);
  assert.throws(() => buildWindows([new Float32Array(2), new Float32Array(3)], 2), RangeError);
});
