import assert from "node:assert/strict";
import {
  findAllDevices,
  libpcapCandidates,
  libVersion,
  Pcap,
  PcapError,
  PcapStatus,
} from "../ffi/mod.ts";
import { openLibpcap } from "../ffi/library.ts";
import { dnsQuery, ethernet, ipv4, tcp, udp } from "../fixtures/frames.ts";
import { type PcapRecord, writePcap } from "../fixtures/pcap_writer.ts";

const isRoot = Deno.uid() === 0;

function withTempDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "pad_pcap_" });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function frame(dstPort: number, protocol: 6 | 17): Uint8Array {
  const transport = protocol === 17
    ? udp(40000, dstPort, dnsQuery("example.com"))
    : tcp({ srcPort: 40000, dstPort, flags: 0x02 });
  return ethernet({
    ethertype: 0x0800,
    payload: ipv4({ src: "192.0.2.1", dst: "192.0.2.2", protocol, payload: transport }),
  });
}

Deno.test("Pcap.next() returns each record's timestamp, lengths and bytes, then eof", () => {
  withTempDir((dir) => {
    const records: PcapRecord[] = [
      { data: frame(53, 17), tsMs: 1_650_000_000_250.5 },
      { data: frame(80, 6).subarray(0, 40), tsMs: 1_650_000_001_000, wireLength: 54 },
    ];
    writePcap(`${dir}/a.pcap`, 1, records);
    using pcap = Pcap.openOffline(`${dir}/a.pcap`);
    assert.equal(pcap.datalink(), 1);
    const first = pcap.next();
    assert.ok(first !== null && first !== "eof");
    assert.equal(first.tsSec, 1_650_000_000);
    assert.equal(first.tsUsec, 250_500);
    assert.equal(first.caplen, records[0]!.data.length);
    assert.equal(first.len, records[0]!.data.length);
    assert.deepEqual(first.data, records[0]!.data);
    const second = pcap.next();
    assert.ok(second !== null && second !== "eof");
    assert.equal(second.caplen, 40);
    assert.equal(second.len, 54);
    assert.deepEqual(second.data, records[1]!.data);
    assert.equal(pcap.next(), "eof");
    assert.equal(pcap.next(), "eof");
  });
});

Deno.test("Pcap.next() hands out copies that later reads do not overwrite", () => {
  withTempDir((dir) => {
    const records = Array.from(
      { length: 2000 },
      (_, i) => ({ data: frame(1000 + i, i % 2 ? 6 : 17) }),
    );
    writePcap(`${dir}/many.pcap`, 1, records);
    using pcap = Pcap.openOffline(`${dir}/many.pcap`);
    const kept: Uint8Array[] = [];
    for (let packet = pcap.next(); packet !== "eof"; packet = pcap.next()) {
      assert.ok(packet !== null);
      kept.push(packet.data);
    }
    assert.equal(kept.length, records.length);
    kept.forEach((data, i) => assert.deepEqual(data, records[i]!.data, `packet ${i}`));
  });
});

Deno.test("Pcap.openOffline() rejects a missing file and a non-capture with libpcap's reason", () => {
  withTempDir((dir) => {
    assert.throws(() => Pcap.openOffline(`${dir}/missing.pcap`), (error: unknown) => {
      assert.ok(error instanceof PcapError);
      assert.equal(error.code, PcapStatus.ERROR);
      assert.match(
        error.message,
        /^Cannot read capture file ".*missing\.pcap": .*No such file or directory/,
      );
      return true;
    });
    Deno.writeTextFileSync(`${dir}/notes.txt`, "not a capture at all, just some text\n");
    assert.throws(() => Pcap.openOffline(`${dir}/notes.txt`), /unknown file format/);
  });
});

Deno.test("Pcap.setFilter() keeps only matching packets and rejects a bad expression with libpcap's message", () => {
  withTempDir((dir) => {
    writePcap(`${dir}/mix.pcap`, 1, [{ data: frame(53, 17) }, { data: frame(80, 6) }, {
      data: frame(53, 17),
    }]);
    using pcap = Pcap.openOffline(`${dir}/mix.pcap`);
    pcap.setFilter("udp port 53");
    let count = 0;
    while (pcap.next() !== "eof") count++;
    assert.equal(count, 2);
    assert.throws(() => pcap.setFilter("udp prot 53"), (error: unknown) => {
      assert.ok(error instanceof PcapError);
      assert.match(error.message, /^Invalid capture filter "udp prot 53": .*syntax error/);
      assert.match(error.libpcapMessage, /syntax error/);
      return true;
    });
  });
});

Deno.test("Pcap.close() is idempotent, and a closed handle refuses further calls", () => {
  withTempDir((dir) => {
    writePcap(`${dir}/one.pcap`, 1, [{ data: frame(53, 17) }]);
    const pcap = Pcap.openOffline(`${dir}/one.pcap`);
    assert.equal(pcap.closed, false);
    pcap.close();
    pcap.close();
    pcap[Symbol.dispose]();
    assert.equal(pcap.closed, true);
    assert.throws(() => pcap.next(), /is closed/);
  });
});

Deno.test("Pcap.stats() on a file throws a PcapError", () => {
  withTempDir((dir) => {
    writePcap(`${dir}/one.pcap`, 1, [{ data: frame(53, 17) }]);
    using pcap = Pcap.openOffline(`${dir}/one.pcap`);
    assert.throws(() => pcap.stats(), PcapError);
  });
});

Deno.test("libVersion() names libpcap and findAllDevices() lists loopback with its addresses", () => {
  assert.match(libVersion(), /^libpcap version \d+\.\d+/);
  const devices = findAllDevices();
  const loopback = devices.find((d) => d.flags.loopback);
  assert.ok(loopback, `no loopback among ${devices.map((d) => d.name).join(", ")}`);
  assert.equal(loopback.flags.up, true);
  assert.ok(loopback.addresses.some((a) => a.family === 4 && a.address === "127.0.0.1"));
});

Deno.test("libpcapCandidates() tries $PAD_LIBPCAP first, then the platform names", () => {
  const saved = Deno.env.get("PAD_LIBPCAP");
  try {
    Deno.env.set("PAD_LIBPCAP", "/opt/pcap/lib/libpcap.so.1.10");
    assert.deepEqual(libpcapCandidates(), [
      "/opt/pcap/lib/libpcap.so.1.10",
      "libpcap.so.1",
      "libpcap.so.0.8",
      "libpcap.dylib",
      "libpcap.A.dylib",
    ]);
  } finally {
    if (saved === undefined) Deno.env.delete("PAD_LIBPCAP");
    else Deno.env.set("PAD_LIBPCAP", saved);
  }
});

Deno.test("openLibpcap() fails with one error naming every path tried", () => {
  assert.throws(
    () => openLibpcap(["/nonexistent/libpcap.so.9", "libpcap-none.so.0"]),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(
        error.message,
        /^Cannot load libpcap: tried "\/nonexistent\/libpcap\.so\.9" \(.+\), "libpcap-none\.so\.0" \(.+\)$/,
      );
      assert.ok(error.cause instanceof AggregateError);
      assert.equal(error.cause.errors.length, 2);
      return true;
    },
  );
});

Deno.test({
  name:
    "Pcap.openLive() tells a missing interface (NO_SUCH_DEVICE) from a permission problem (PERM_DENIED)",
  ignore: !isRoot || Deno.build.os !== "linux",
  async fn() {
    assert.throws(() => Pcap.openLive({ device: "pad-nope0" }), (error: unknown) => {
      assert.ok(error instanceof PcapError);
      assert.equal(error.code, PcapStatus.NO_SUCH_DEVICE);
      assert.match(error.message, /^Cannot start capture on "pad-nope0": /);
      return true;
    });
    // The same call as the unprivileged user "nobody" (uid 65534), in a child process.
    const dir = Deno.makeTempDirSync({ prefix: "pad_perm_" });
    try {
      Deno.mkdirSync(`${dir}/ffi`);
      for (const name of ["library.ts", "libc.ts", "pcap.ts", "sockaddr.ts", "symbols.ts"]) {
        Deno.copyFileSync(new URL(`../ffi/${name}`, import.meta.url), `${dir}/ffi/${name}`);
      }
      Deno.writeTextFileSync(
        `${dir}/probe.ts`,
        `import { Pcap } from "./ffi/pcap.ts";
try { Pcap.openLive({ device: "lo" }); console.log("opened"); }
catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`,
      );
      Deno.mkdirSync(`${dir}/deno_dir`);
      Deno.chmodSync(dir, 0o755);
      Deno.chmodSync(`${dir}/deno_dir`, 0o777);
      const output = await new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          Deno.execPath(),
          "run",
          "--allow-all",
          "--no-lock",
          "--no-config",
          `${dir}/probe.ts`,
        ],
        env: { DENO_DIR: `${dir}/deno_dir`, HOME: dir, NO_COLOR: "1" },
        cwd: dir,
      }).output();
      const stdout = new TextDecoder().decode(output.stdout).trim();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const reported = JSON.parse(stdout) as { code: number; message: string };
      assert.equal(reported.code, PcapStatus.PERM_DENIED);
      assert.match(reported.message, /^Cannot start capture on "lo": You don't have permission/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
