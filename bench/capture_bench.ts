/**
 * Capture throughput, printed (not asserted):
 * 1. offline: decode a 1M-packet file made by the test pcap writer, against `tcpdump -r FILE -n`;
 * 2. live: packets/s captured and decoded on `lo` while other processes flood a local UDP port.
 *
 * Run as root: `deno run -A --unstable-net bench/capture_bench.ts [--packets N] [--live-seconds S]`
 *
 * @module
 */

import { Pcap } from "../ffi/mod.ts";
import { startLiveCapture } from "../src/capture/live.ts";
import { openCaptureFile } from "../src/capture/offline.ts";
import {
  dnsCnameResponse,
  dnsQuery,
  ethernet,
  ipv4,
  ipv6,
  quicShort,
  tcp,
  udp,
} from "../tests/support/frames.ts";
import { PcapWriter } from "../tests/support/pcap_writer.ts";

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

const PACKETS = flag("--packets", 1_000_000);
const LIVE_SECONDS = flag("--live-seconds", 3);
const rate = (count: number, ms: number) =>
  `${Math.round(count / (ms / 1000)).toLocaleString("en")}/s`;

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

async function timeTcpdump(path: string): Promise<number> {
  const started = performance.now();
  const result = await new Deno.Command("tcpdump", {
    args: ["-r", path, "-n"],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!result.success) throw new Error(`tcpdump -r failed with exit code ${result.code}`);
  return performance.now() - started;
}

async function offline(dir: string): Promise<void> {
  const path = `${dir}/bench.pcap`;
  const frames = mix();
  {
    using writer = new PcapWriter(path, 1);
    for (let i = 0; i < PACKETS; i++) {
      writer.write({ data: frames[i % frames.length]!, tsMs: 1.7e12 + i / 10 });
    }
  }
  const size = Deno.statSync(path).size;
  console.log(
    `offline: ${PACKETS.toLocaleString("en")} packets, ${
      (size / 2 ** 20).toFixed(0)
    } MiB (${path})`,
  );
  for (let round = 1; round <= 2; round++) {
    let started = performance.now();
    let count = 0;
    {
      using pcap = Pcap.openOffline(path);
      while (pcap.next() !== "eof") count++;
    }
    const rawMs = performance.now() - started;
    started = performance.now();
    let dns = 0;
    let quic = 0;
    using file = openCaptureFile(path);
    for (const result of file) {
      if (result.kind !== "ip") continue;
      if (result.packet.dnsQueryName !== null) dns++;
      if (result.packet.quic) quic++;
    }
    const decodeMs = performance.now() - started;
    const tcpdumpMs = await timeTcpdump(path);
    console.log(
      `  round ${round}: Pcap.next() ${rate(count, rawMs)} | next()+decodeFrame ${
        rate(file.counts.frames, decodeMs)
      }` +
        ` (${
          decodeMs.toFixed(0)
        } ms, dns ${dns}, quic ${quic}, malformed ${file.counts.malformed})` +
        ` | tcpdump -r -n ${rate(PACKETS, tcpdumpMs)} (${tcpdumpMs.toFixed(0)} ms)` +
        ` | pad/tcpdump ${(tcpdumpMs / decodeMs).toFixed(2)}x`,
    );
  }
}

function senderCommand(port: number, seconds: number): Deno.Command {
  const python = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", ${port}))
b = b"x" * 32
n = 0
end = time.time() + ${seconds}
while time.time() < end:
    for _ in range(1000):
        s.send(b)
    n += 1000
print(n)
`;
  return new Deno.Command("python3", { args: ["-c", python], stdout: "piped", stderr: "inherit" });
}

async function live(): Promise<void> {
  if (Deno.uid() !== 0) {
    console.log("live: skipped (needs root)");
    return;
  }
  for (const senders of [1, 2]) {
    const sink = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = (sink.addr as Deno.NetAddr).port;
    let delivered = 0;
    const capture = await startLiveCapture({
      device: "lo",
      filter: `udp dst port ${port}`,
      onBatch: (results) => (delivered += results.length),
    });
    const started = performance.now();
    const outputs = await Promise.all(
      Array.from({ length: senders }, () => senderCommand(port, LIVE_SECONDS).output()),
    );
    const sendMs = performance.now() - started;
    const sent = outputs.reduce(
      (sum, o) => sum + Number(new TextDecoder().decode(o.stdout).trim()),
      0,
    );
    const summary = await capture.stop();
    const stopMs = performance.now() - started;
    sink.close();
    console.log(
      `live: ${senders} python3 sender(s) sent ${sent.toLocaleString("en")} datagrams at ${
        rate(sent, sendMs)
      };` +
        ` captured+decoded ${delivered.toLocaleString("en")} (${
          rate(delivered, stopMs)
        } until stop returned);` +
        ` libpcap received ${
          summary.stats.received.toLocaleString("en")
        } (lo shows each packet twice to the kernel filter),` +
        ` dropped ${summary.stats.dropped}, ifDropped ${summary.stats.ifDropped}`,
    );
  }
}

const dir = Deno.makeTempDirSync({ prefix: "pad_bench_" });
try {
  await offline(dir);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
await live();
