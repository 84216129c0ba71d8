/**
 * A round crosses from the import's reading thread to its storing one encoded as columns of
 * numbers: it arrives as it left, every null and optional field included.
 */
import assert from "node:assert/strict";
import { decodeFrame } from "../src/capture/decode.ts";
import { decodeRound, encodeRound } from "../src/capture/round_codec.ts";
import { RoundTraffic } from "../src/capture/round_traffic.ts";
import { LocalNetworks, PRIVATE_NETWORKS } from "../src/net/networks.ts";
import { lanFrames } from "../fixtures/lan_capture.ts";
import { mixedFrames } from "../fixtures/mixed_capture.ts";

Deno.test("decodeRound() gives back exactly the round encodeRound() was given", () => {
  const captures = [
    { frames: lanFrames(20_000, { spanMs: 60_000 }), local: PRIVATE_NETWORKS },
    // Remote peers, ICMP, QUIC, DNS names, fragments; packet rows with payloads kept.
    { frames: mixedFrames(20_000, { remotes: 2_000 }), local: ["93.184.0.0/18"] },
  ];
  for (const { frames, local } of captures) {
    const traffic = new RoundTraffic({
      local: new LocalNetworks([...local]),
      maxPackets: 500,
      payloadBytes: 16,
    });
    for (const { data, tsMs } of frames) {
      const decoded = decodeFrame(1, data, tsMs, data.length);
      if (decoded.kind === "ip") traffic.add(decoded.packet);
    }
    const round = traffic.result();
    assert.ok(round.flows.rows.length > 100 && round.packets.length === 500);
    const encoded = encodeRound(round);
    // Posted between threads, as the import does (the numbers moved, not copied).
    const posted = structuredClone(encoded, { transfer: [encoded.numbers.buffer] });
    assert.equal(encoded.numbers.length, 0);
    assert.deepEqual(decodeRound(posted), round);
  }
});
