/**
 * The model end to end, in its real default configuration and its hourly routine: learn a few
 * hours of synthetic history, then hour after hour score the new rounds against the threshold,
 * remember the normal scores, and refit on the new normal rounds plus a replay of earlier ones.
 * Over more than 1,000 normal rounds at most 1 in 1,000 may be flagged, and every injected
 * anomaly must be flagged in its round, with the culprit named.
 */
import assert from "node:assert/strict";
import { attribute, type PortContribution } from "../src/model/attribution.ts";
import { createDetector } from "../src/model/mod.ts";
import { encodeRound, featureLayout } from "../src/model/mod.ts";
import type { RoundData } from "../src/round.ts";
import { Threshold } from "../src/model/threshold.ts";
import { buildWindows, selectWindows } from "../src/model/windows.ts";
import {
  generateHistory,
  injectEphemeralBurst,
  injectInboundScan,
  injectListener,
  injectOutboundScan,
  injectUdpFlood,
  prng,
} from "../fixtures/synthetic.ts";

const HOUR = 60;
const PRETRAIN = 12 * HOUR;
/** Hours of the routine: the first only feeds the threshold, the 17 others are judged. */
const HOURS = 18;
/** Earlier normal rounds replayed in each refit, against drifting away from the rest of the day. */
const REPLAY = 30;

interface Injection {
  name: string;
  inject: (round: RoundData, hour: number) => RoundData;
  /** What attribution must name. */
  check: (ports: PortContribution[]) => boolean;
}

const first = (port: number, protocol: string) => (ports: PortContribution[]) =>
  ports[0]?.port === port && ports[0]?.protocol === protocol;
const mostly = (test: (p: PortContribution) => boolean) => (ports: PortContribution[]) =>
  ports.filter(test).length * 2 > ports.length;

const INJECTIONS: Injection[] = [
  {
    name: "a new listener on 41234",
    inject: (r) => injectListener(r, 41_234),
    check: first(41_234, "tcp"),
  },
  {
    name: "300 ephemeral ports at once",
    inject: (r, h) => injectEphemeralBurst(r, h, 300),
    check: mostly((p) => p.command === "python3"),
  },
  {
    name: "an inbound scan of 300 ports",
    inject: (r, h) => injectInboundScan(r, h, 300),
    check: mostly((p) => p.port !== null && p.port <= 10_000),
  },
  {
    name: "an outbound scan of 300 remote ports",
    inject: (r) => injectOutboundScan(r, 300, 45_000),
    check: first(45_000, "tcp"),
  },
  {
    name: "a UDP flood on 53 (×100)",
    inject: (r) => injectUdpFlood(r, 53, 100),
    check: first(53, "udp"),
  },
];

Deno.test("the default detector flags every injected anomaly and under 1 in 1,000 normal rounds", async () => {
  const history = generateHistory({ seed: 2026, rounds: PRETRAIN + HOURS * HOUR });
  const detector = await createDetector();
  try {
    const { window, bins } = detector.config;
    const layout = featureLayout(bins);
    const encoded = history.map((r) => encodeRound(r, layout));
    const all = buildWindows(encoded, window);
    await detector.fit(selectWindows(all, range(0, PRETRAIN)), { maxEpochs: 6 });
    const threshold = new Threshold();
    const random = prng(1);
    const learned = range(0, PRETRAIN); // rounds judged normal (or pretrained on)

    let judged = 0;
    const falseAlarms: string[] = [];
    const flagged: string[] = [];
    for (let h = 0; h < HOURS; h++) {
      const first = PRETRAIN + h * HOUR;
      const batch = buildWindows(
        encoded.slice(first - (window - 1), first + HOUR),
        window,
        window - 1,
      );
      const { scores } = detector.score(batch);
      const value = threshold.value;
      if (h === 0) {
        assert.equal(threshold.ready, false, "no threshold before any normal score");
        assert.ok(scores.every((s) => !threshold.isAnomalous(s)));
      }
      if (value !== null) {
        judged += scores.length;
        scores.forEach((s, i) => {
          if (s > value) {
            falseAlarms.push(`hour ${h} round ${i}: ${s.toFixed(2)} > ${value.toFixed(2)}`);
          }
        });
      }

      // One anomaly in each hour from the second on, each kind several times a day.
      if (h >= 1) {
        const injection = INJECTIONS[(h - 1) % INJECTIONS.length]!;
        const at = first + ((h * 17) % HOUR);
        const round = injection.inject(history[at]!, h);
        const context = [...encoded.slice(at - (window - 1), at), encodeRound(round, layout)];
        const result = detector.score(buildWindows(context, window, window - 1));
        const score = result.scores[0]!;
        assert.ok(
          value !== null && score > value,
          `${injection.name} at hour ${h}: score ${score.toFixed(2)}, threshold ${value}`,
        );
        const ports = attribute(result.errors[0]!, round, layout);
        assert.ok(injection.check(ports), `${injection.name}: named ${JSON.stringify(ports)}`);
        flagged.push(`${injection.name}: ${(score / value!).toFixed(1)}× the threshold`);
      }

      const normal = scores.flatMap((s, i) => (threshold.isAnomalous(s) ? [] : [i]));
      threshold.observe(normal.map((i) => scores[i]!));
      const replay = Array.from({ length: REPLAY }, () => {
        return learned[Math.floor(random() * learned.length)]!;
      });
      learned.push(...normal.map((i) => first + i));
      await detector.fit(selectWindows(all, [...normal.map((i) => first + i), ...replay]));
    }
    assert.ok(judged >= 1000, `only ${judged} rounds judged`);
    assert.ok(
      falseAlarms.length <= Math.floor(judged / 1000),
      `${falseAlarms.length} false alarms in ${judged} normal rounds:\n${falseAlarms.join("\n")}`,
    );
    assert.equal(flagged.length, HOURS - 1);
    if (Deno.env.get("PAD_TEST_VERBOSE")) console.log(flagged.join("\n"), `\n${judged} judged`);
  } finally {
    detector.dispose();
  }
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
