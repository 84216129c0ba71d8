/**
 * Capture throughput against tcpdump, in the same run:
 * 1. offline: decode a 1M-packet mixed file (fixtures/pcap_writer.ts) with `Pcap.next()` and
 *    pad's decoder, against `TZ=UTC tcpdump -r FILE -n > /dev/null` on the same file;
 * 2. live, on `lo`: a UDP flood to a local port (bench/support/flood.py, 127.0.0.1 only) at rising
 *    rates, captured by pad and, at the same time on the same packets, by
 *    `tcpdump -i lo -w /dev/null -B 12288` (the same 12 MiB ring as pad). Twice: pad's capture
 *    engine in this process (decoding and counting the round on this thread, as collect has it
 *    do with procfs sweeps, src/capture/live.ts), then a real
 *    `pad collect --interface lo --probe procfs` (decode, per-port counts, packet rows, SQLite).
 *    Each side's captured and dropped counts come from its own statistics.
 *
 * Run as root: `deno run -A --unstable-net bench/capture_bench.ts [--packets N] [--seconds S]
 * [--quick]`
 *
 * @module
 */

import { Pcap } from "../ffi/mod.ts";
import { startLiveCapture } from "../src/capture/live.ts";
import type { CaptureReader } from "../src/capture/live_protocol.ts";
import { openCaptureFile } from "../src/capture/offline.ts";
import { openDatabaseReadOnly } from "../src/store/database.ts";
import {
  dnsCnameResponse,
  dnsQuery,
  ethernet,
  ipv4,
  ipv6,
  quicShort,
  tcp,
  udp,
} from "../fixtures/frames.ts";
import { PcapWriter } from "../fixtures/pcap_writer.ts";
import { type Flood, flood, startTcpdump, type TcpdumpStats, udpSink } from "./support/loopback.ts";
import { cpuSecondsOf, int, intFlag, PAD, progress, sleep } from "./support/measure.ts";
import { emitResult, higherIsBetter, lowerIsBetter } from "./support/result.ts";

const PACKETS = intFlag("--packets", 1_000_000, 200_000);
const SECONDS = intFlag("--seconds", 5, 2);
/** The target: live capture on lo at this rate or more, with nothing dropped. */
const TARGET_RATE = 100_000;
/** The target for what capturing costs, judged on the fastest run. */
const TARGET_CPU_PER_MILLION = 0.6;
/** Offered rates of the live runs: paced, then as fast as one and two senders go. */
const LADDER: readonly { rate?: number; senders: number }[] = [
  { rate: TARGET_RATE, senders: 1 },
  { rate: 2 * TARGET_RATE, senders: 1 },
  { senders: 1 },
  { senders: 2 },
];
/** tcpdump's ring, the size of pad's (src/capture/live.ts). */
const RING_KIB = 12_288;
/** tcpdump and tshark read /etc/localtime per packet without TZ: UTC is their best case. */
const UTC = { TZ: "UTC" };

const perSecond = (count: number, seconds: number) => `${int(count / seconds)}/s`;

/** A traffic mix: DNS query/response, TCP ACKs and data, QUIC over IPv6. */
function mix(): Uint8Array[] {
  const v4 = (protocol: number, payload: Uint8Array) =>
    ethernet({
      ethertype: 0x0800,
      payload: ipv4({ src: "192.168.1.20", dst: "93.184.216.34", protocol, payload }),
    });
  const v6 = (payload: Uint8Array) =>
    ethernet({
      ethertype: 0x86dd,
      payload: ipv6({ src: "2001:db8::20", dst: "2001:db8:1::443", nextHeader: 17, payload }),
    });
  return [
    v4(17, udp(40000, 53, dnsQuery("www.example.com"))),
    v4(17, udp(53, 40000, dnsCnameResponse("www.example.com", "edge.example.net", "192.0.2.9"))),
    v4(6, tcp({ srcPort: 50000, dstPort: 443, flags: 0x10, options: new Uint8Array(12) })),
    v4(6, tcp({ srcPort: 443, dstPort: 50000, flags: 0x18, payload: new Uint8Array(1400) })),
    v6(udp(50001, 443, quicShort(1200))),
    v6(udp(443, 50001, quicShort(60))),
  ];
}

async function timeTcpdumpRead(path: string): Promise<number> {
  const started = performance.now();
  const result = await new Deno.Command("tcpdump", {
    args: ["-r", path, "-n"],
    env: UTC,
    stdout: "null",
    stderr: "null",
  }).output();
  if (!result.success) throw new Error(`tcpdump -r failed with exit code ${result.code}`);
  return (performance.now() - started) / 1000;
}

/** Part 1: decode a file, best of two rounds each for pad and tcpdump. */
async function offline(dir: string): Promise<void> {
  const path = `${dir}/bench.pcap`;
  const frames = mix();
  {
    using writer = new PcapWriter(path, 1);
    for (let i = 0; i < PACKETS; i++) {
      writer.write({ data: frames[i % frames.length]!, tsMs: 1.7e12 + i / 10 });
    }
  }
  console.log(
    `## offline decode: ${int(PACKETS)} packets, ${
      (Deno.statSync(path).size / 2 ** 20).toFixed(0)
    } MiB`,
  );
  let padBest = Infinity, rawBest = Infinity, tcpdumpBest = Infinity;
  for (let round = 1; round <= 2; round++) {
    progress(`offline decode, round ${round} of 2`);
    let started = performance.now();
    {
      using pcap = Pcap.openOffline(path);
      while (pcap.next() !== "eof");
    }
    const rawS = (performance.now() - started) / 1000;
    started = performance.now();
    let dns = 0, quic = 0;
    using file = openCaptureFile(path);
    for (const result of file) {
      if (result.kind !== "ip") continue;
      if (result.packet.dnsQueryName !== null) dns++;
      if (result.packet.quic) quic++;
    }
    const decodeS = (performance.now() - started) / 1000;
    const tcpdumpS = await timeTcpdumpRead(path);
    console.log(
      `round ${round}: Pcap.next() alone ${perSecond(PACKETS, rawS)}; next() + decode ${
        perSecond(file.counts.frames, decodeS)
      } (dns ${dns}, quic ${quic}, malformed ${file.counts.malformed}); ` +
        `TZ=UTC tcpdump -r -n ${perSecond(PACKETS, tcpdumpS)}`,
    );
    padBest = Math.min(padBest, decodeS);
    rawBest = Math.min(rawBest, rawS);
    tcpdumpBest = Math.min(tcpdumpBest, tcpdumpS);
  }
  emitResult({
    section: "capture",
    figure: "offline decode (Pcap.next() + decode, no storage)",
    value: PACKETS / padBest,
    unit: "packets/s",
    anchor: "TZ=UTC tcpdump -r FILE -n > /dev/null, same file",
    anchorValue: PACKETS / tcpdumpBest,
    ...higherIsBetter(PACKETS / padBest, PACKETS / tcpdumpBest, "tcpdump's rate"),
    note: `${int(PACKETS)}-packet mix of DNS, TCP and QUIC frames; best of 2; ` +
      `Pcap.next() alone ${perSecond(PACKETS, rawBest)}`,
  });
}

/** One live run: what was sent, what pad and tcpdump each made of it. */
interface LiveRun {
  label: string;
  flood: Flood;
  padCaptured: number;
  padDropped: number;
  padCpuS: number;
  tcpdump: TcpdumpStats;
  /** How the engine read packets: the kernel's ring in place, or libpcap's reader. */
  reader?: CaptureReader;
}

function describeRun(run: LiveRun): string {
  const { flood: f, tcpdump: t } = run;
  const label = run.reader ? `${run.label} (${run.reader})` : run.label;
  return `${label.padEnd(22)} sent ${int(f.sent).padStart(9)} (${
    perSecond(f.sent, f.seconds).padStart(9)
  }) | pad ${int(run.padCaptured).padStart(9)} captured, ${run.padDropped} dropped, CPU ${
    run.padCpuS.toFixed(2)
  } s | tcpdump ${int(t.captured).padStart(9)} captured, ${t.dropped} dropped, CPU ${
    t.cpuS.toFixed(2)
  } s`;
}

const lossless = (captured: number, dropped: number, sent: number) =>
  dropped === 0 && captured === sent;

/** pad's capture engine in this process, with tcpdump beside it, on one flood. */
async function engineRun(step: { rate?: number; senders: number }): Promise<LiveRun> {
  using sink = udpSink();
  const filter = `udp dst port ${sink.port}`;
  const tcpdump = await startTcpdump(filter, "/dev/null", RING_KIB);
  // As collect runs it: decoded and counted on this thread, the round handed over at the end.
  const capture = await startLiveCapture({
    device: "lo",
    filter,
    round: { maxPackets: 0, payloadBytes: 0 },
    thread: "caller",
  });
  const cpuBefore = cpuSecondsOf("self");
  const sent = await flood(sink.port, SECONDS, step.senders, step.rate);
  // tcpdump reads a block of its ring when it fills or after its 1 s timeout: wait for the last.
  await sleep(1500);
  const summary = await capture.stop();
  const padCpuS = cpuSecondsOf("self") - cpuBefore;
  return {
    label: stepLabel(step),
    flood: sent,
    padCaptured: summary.round?.seen ?? 0,
    padDropped: summary.stats.dropped + summary.stats.ifDropped,
    padCpuS,
    tcpdump: await tcpdump.stop(),
    reader: capture.reader,
  };
}

interface RoundRow {
  status: string;
  pcap_dropped: number | null;
  pcap_if_dropped: number | null;
  packets_seen: number;
  packets_malformed: number;
}

/** A real `pad collect` round on lo, with tcpdump beside it, on one flood. */
async function collectRun(dir: string, step: { rate?: number; senders: number }): Promise<LiveRun> {
  using sink = udpSink();
  const filter = `udp dst port ${sink.port}`;
  const db = `${dir}/collect-${crypto.randomUUID()}.db`;
  const tcpdump = await startTcpdump(filter, "/dev/null", RING_KIB);
  // GNU time measures the whole round's CPU (its -o file, so pad's stderr stays its own).
  // --debug: the "Round N started" line says capture is running (it starts before the round).
  const timeFile = `${dir}/time-${crypto.randomUUID()}`;
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-o", timeFile, "-f", "%U %S", ...PAD, "--debug", "--db", db, "collect"].concat(
      ["--interface", "lo", "--probe", "procfs", "--filter", filter],
      ["--duration", `${SECONDS + 3}s`],
    ),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (!/Round \d+ started/.test(log)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`pad collect ended before its round started: ${log.trim()}`);
    log += value;
  }
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      log += value;
    }
  })();
  const sent = await flood(sink.port, SECONDS, step.senders, step.rate);
  const status = await child.status; // the round outlives the flood by about 3 s
  await drained;
  if (!status.success) throw new Error(`pad collect failed: ${log.trim()}`);
  const [user, sys] = Deno.readTextFileSync(timeFile).trim().split("\n").pop()!.split(" ");
  const padCpuS = Number(user) + Number(sys);
  const tcpdumpStats = await tcpdump.stop();
  using read = openDatabaseReadOnly(db);
  const round = read.prepare(
    "SELECT status, pcap_dropped, pcap_if_dropped, packets_seen, packets_malformed FROM rounds",
  ).get() as unknown as RoundRow;
  if (round.status !== "complete") throw new Error(`pad collect's round is ${round.status}`);
  return {
    label: stepLabel(step),
    flood: sent,
    padCaptured: round.packets_seen + round.packets_malformed,
    padDropped: (round.pcap_dropped ?? 0) + (round.pcap_if_dropped ?? 0),
    padCpuS,
    tcpdump: tcpdumpStats,
  };
}

function stepLabel(step: { rate?: number; senders: number }): string {
  return step.rate
    ? `paced ${int(step.rate)}/s`
    : `max, ${step.senders} sender${step.senders > 1 ? "s" : ""}`;
}

/** The fastest the senders go on this machine with nothing capturing: the ceiling of the runs. */
async function senderCeiling(): Promise<number> {
  let best = 0;
  for (const senders of [1, 2]) {
    progress(`senders alone: ${senders} for ${SECONDS} s`);
    using sink = udpSink();
    const f = await flood(sink.port, SECONDS, senders);
    console.log(`senders alone (no capture): ${senders} sent ${perSecond(f.sent, f.seconds)}`);
    best = Math.max(best, f.sent / f.seconds);
  }
  return best;
}

/** Part 2: the rate ladder, for one way of running pad; emits its results. */
async function live(
  ceiling: number,
  name: string,
  runOne: (step: (typeof LADDER)[number]) => Promise<LiveRun>,
) {
  console.log(`\n## live capture on lo, ${name}: ${SECONDS} s per rate`);
  const runs: LiveRun[] = [];
  for (const step of LADDER) {
    progress(`live, ${name}: ${stepLabel(step)} for ${SECONDS} s`);
    const run = await runOne(step);
    console.log(describeRun(run));
    runs.push(run);
  }
  const rate = (r: LiveRun) => r.flood.sent / r.flood.seconds;
  const best = (ok: (r: LiveRun) => boolean) => Math.max(0, ...runs.filter(ok).map((r) => rate(r)));
  const padBest = best((r) => lossless(r.padCaptured, r.padDropped, r.flood.sent));
  const tcpdumpBest = best((r) => lossless(r.tcpdump.captured, r.tcpdump.dropped, r.flood.sent));
  const offered = Math.max(...runs.map(rate));
  const sendersLimit = padBest >= offered && tcpdumpBest >= offered;
  const losses = runs.flatMap((r) => {
    const lost = r.flood.sent - r.padCaptured;
    return lost > 0 || r.padDropped > 0
      ? [`${r.label} (${int(rate(r))}/s): ${int(lost)} missing, ${r.padDropped} dropped`]
      : [];
  });
  const note =
    `highest offered rate captured whole with 0 dropped, of ${
      runs.map((r) => int(rate(r))).join(", ")
    } packets/s offered for ${SECONDS} s each (senders alone, no capture: ${int(ceiling)}/s)` +
    (sendersLimit ? "; the senders were the limit (both kept up with the fastest)" : "") +
    (losses.length ? `; pad lost packets in: ${losses.join("; ")}` : "");
  console.log(
    `${name}: lossless up to ${int(padBest)}/s; tcpdump up to ${int(tcpdumpBest)}/s${
      sendersLimit ? " (the senders, not the captures, were the limit)" : ""
    }`,
  );
  emitResult({
    section: "capture",
    figure: `live capture on lo, ${name}`,
    value: padBest,
    unit: "packets/s",
    anchor: `tcpdump -i lo -w /dev/null -B ${RING_KIB}, same packets at the same time`,
    anchorValue: tcpdumpBest,
    ...higherIsBetter(padBest, tcpdumpBest, "tcpdump's rate"),
    target: `≥ ${int(TARGET_RATE)} packets/s, 0 dropped`,
    // Senders slower than the target test nothing: say so rather than fail pad.
    ...(padBest < TARGET_RATE && sendersLimit
      ? { inconclusive: `the senders reached only ${int(offered)} packets/s here` }
      : { pass: padBest >= TARGET_RATE }),
    note,
  });
  // CPU per packet on the fastest run: what keeping up costs each of them.
  const fastest = runs.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const padPerM = fastest.padCpuS / fastest.flood.sent * 1e6;
  const tcpdumpPerM = fastest.tcpdump.cpuS / fastest.flood.sent * 1e6;
  emitResult({
    section: "capture",
    figure: `CPU per million packets, ${name}`,
    value: padPerM,
    unit: "CPU s",
    anchor: "tcpdump -w /dev/null (no decoding), same packets",
    anchorValue: tcpdumpPerM,
    ...lowerIsBetter(padPerM, tcpdumpPerM, ["less", "more"]),
    target: `≤ ${TARGET_CPU_PER_MILLION} CPU s`,
    pass: padPerM <= TARGET_CPU_PER_MILLION,
    note: `the fastest run, ${int(rate(fastest))} packets/s; at each rate: ${
      runs.map((r) => (r.padCpuS / r.flood.sent * 1e6).toFixed(2)).join(", ")
    } CPU s` +
      (name.includes("collect") ? "; pad's figure is the whole collect round" : ""),
  });
}

if (Deno.uid() !== 0) {
  console.log("capture_bench: live capture needs root; run it as root");
  Deno.exit(1);
}
const dir = Deno.makeTempDirSync({ prefix: "pad_capture_bench_" });
try {
  await offline(dir);
  console.log("\n## live capture on lo");
  const ceiling = await senderCeiling();
  await live(
    ceiling,
    "pad's engine (decode and count the round, on the caller's thread)",
    engineRun,
  );
  await live(ceiling, "pad collect --probe procfs", (step) => collectRun(dir, step));
} finally {
  Deno.removeSync(dir, { recursive: true });
}
