import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runImport } from "../src/commands/import.ts";
import { BufferOutput } from "../src/output.ts";
import {
  dnsAResponse,
  dnsQuery,
  ethernet,
  ipv4,
  ipv6,
  loopback,
  sll,
  sll2,
  tcp,
  udp,
} from "../fixtures/frames.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { lockRole } from "../src/store/lock.ts";
import { writePcap } from "../fixtures/pcap_writer.ts";

const T0 = Date.parse("2026-11-21T10:00:00Z");
const PCAPS = new URL("../../shared/pcaps/", import.meta.url);
const havePcaps = (() => {
  try {
    return Deno.statSync(PCAPS).isDirectory;
  } catch {
    return false;
  }
})();

function query(db: string, sql: string, ...params: (string | number)[]) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all(...params).map((r) => ({ ...r }));
}

function importFile(
  db: string,
  file: string,
  options: Partial<Parameters<typeof runImport>[0]> = {},
) {
  return runImport(
    { db, file, roundLengthMs: 60_000, maxPackets: 10_000, payloadBytes: 0, ...options },
    new BufferOutput(),
  );
}

/** A host at 192.168.1.10 asking DNS and opening HTTPS, over three minutes with a gap. */
function homeTraffic(): { tsMs: number; data: Uint8Array }[] {
  const out = (dstPort: number, payload: Uint8Array, srcPort = 40_000) =>
    ipv4({
      src: "192.168.1.10",
      dst: "203.0.113.5",
      protocol: 17,
      payload: udp(srcPort, dstPort, payload),
    });
  const frames: { tsMs: number; data: Uint8Array }[] = [];
  const eth = (ip: Uint8Array) => ethernet({ ethertype: 0x0800, payload: ip });
  frames.push({ tsMs: T0 + 1_000, data: eth(out(53, dnsQuery("example.com"), 50_000)) });
  frames.push({
    tsMs: T0 + 1_020,
    data: eth(ipv4({
      src: "203.0.113.5",
      dst: "192.168.1.10",
      protocol: 17,
      payload: udp(53, 50_000, dnsAResponse("example.com", "198.51.100.7")),
    })),
  });
  for (let i = 0; i < 6; i++) {
    frames.push({
      tsMs: T0 + 2_000 + i,
      data: eth(ipv4({
        src: "192.168.1.10",
        dst: "198.51.100.7",
        protocol: 6,
        payload: tcp({ srcPort: 41_000, dstPort: 443, flags: 0x18, payload: new Uint8Array(10) }),
      })),
    });
  }
  // Minute 1 has 2 packets; minute 2 none; minute 3 has 1.
  frames.push({ tsMs: T0 + 61_000, data: eth(out(443, new Uint8Array(5))) });
  frames.push({ tsMs: T0 + 62_000, data: eth(out(443, new Uint8Array(5))) });
  frames.push({ tsMs: T0 + 185_000, data: eth(out(123, new Uint8Array(48))) });
  return frames;
}

Deno.test("import slices a capture into rounds by the packets' own timestamps", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/home.pcap`;
  writePcap(file, 1, homeTraffic());
  const result = await importFile(db, file);
  assert.equal(result.rounds, 3);
  assert.equal(result.packets, 11);
  const rounds = query(
    db,
    "SELECT start_time, end_time, status, source, source_file, probe, packets_seen, packets_stored FROM rounds ORDER BY id",
  );
  assert.deepEqual(rounds, [
    {
      start_time: T0,
      end_time: T0 + 60_000,
      status: "complete",
      source: "import",
      source_file: file,
      probe: null,
      packets_seen: 8,
      packets_stored: 8,
    },
    {
      start_time: T0 + 60_000,
      end_time: T0 + 120_000,
      status: "complete",
      source: "import",
      source_file: file,
      probe: null,
      packets_seen: 2,
      packets_stored: 2,
    },
    {
      start_time: T0 + 180_000,
      end_time: T0 + 240_000,
      status: "complete",
      source: "import",
      source_file: file,
      probe: null,
      packets_seen: 1,
      packets_stored: 1,
    },
  ]);
  // The private address is the local side: the host's ports are the local ports.
  const traffic = query(
    db,
    "SELECT port_id, protocol, direction, packets, peers, remote_ports FROM round_traffic WHERE round_id = 1 ORDER BY port_id, direction",
  );
  assert.deepEqual(traffic, [
    { port_id: 41_000, protocol: "tcp", direction: "out", packets: 6, peers: 1, remote_ports: 1 },
    { port_id: 50_000, protocol: "udp", direction: "in", packets: 1, peers: 1, remote_ports: 1 },
    { port_id: 50_000, protocol: "udp", direction: "out", packets: 1, peers: 1, remote_ports: 1 },
  ]);
  const dns = query(
    db,
    "SELECT direction, port_id, remote_port, qry_name, resp_name FROM packets WHERE qry_name IS NOT NULL ORDER BY id",
  );
  assert.deepEqual(dns.map((r) => [r.direction, r.port_id, r.remote_port, r.qry_name]), [
    ["out", 50_000, 53, "example.com"],
    ["in", 50_000, 53, "example.com"],
  ]);
  assert.ok(dns[1]!.resp_name !== null);
});

Deno.test("import --local names the monitored host when private ranges would be wrong", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/home.pcap`;
  writePcap(file, 1, homeTraffic());
  await importFile(db, file, { local: ["203.0.113.5/32"] });
  const traffic = query(
    db,
    "SELECT port_id, direction, packets FROM round_traffic WHERE round_id = 1 AND direction = 'out' ORDER BY port_id",
  );
  assert.deepEqual(traffic, [{ port_id: 53, direction: "out", packets: 1 }]);
});

Deno.test("import reads every link type it decodes: SLL, SLL2, raw IP and BSD loopback", async () => {
  const packet4 = ipv4({
    src: "10.0.0.2",
    dst: "10.0.0.1",
    protocol: 17,
    payload: udp(5000, 6000),
  });
  const packet6 = ipv6({
    src: "fd00::2",
    dst: "fd00::1",
    nextHeader: 17,
    payload: udp(5001, 6001),
  });
  const cases: [string, number, Uint8Array[]][] = [
    ["sll", 113, [
      sll({ protocol: 0x0800, payload: packet4 }),
      sll({ protocol: 0x86dd, payload: packet6 }),
    ]],
    ["sll2", 276, [
      sll2({ protocol: 0x0800, payload: packet4 }),
      sll2({ protocol: 0x86dd, payload: packet6 }),
    ]],
    ["raw", 101, [packet4, packet6]],
    ["null", 0, [
      loopback({ family: 2, littleEndian: true, payload: packet4 }),
      loopback({ family: 30, littleEndian: false, payload: packet6 }),
    ]],
  ];
  for (const [name, linkType, frames] of cases) {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    writePcap(
      `${dir.path}/${name}.pcap`,
      linkType,
      frames.map((data, i) => ({ data, tsMs: T0 + i })),
    );
    const result = await importFile(db, `${dir.path}/${name}.pcap`);
    assert.equal(result.packets, 2, name);
    const ports = query(
      db,
      "SELECT port_id, direction FROM round_traffic ORDER BY port_id, direction",
    );
    assert.deepEqual(ports.map((r) => `${r.port_id}/${r.direction}`), [
      "5000/out",
      "5001/out",
      "6000/in",
      "6001/in",
    ], name);
  }
});

Deno.test("import of a file that is not a capture fails clearly and stores nothing", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  Deno.writeTextFileSync(`${dir.path}/notes.pcap`, "not a capture\n".repeat(10));
  const bad = await runPad(["--db", db, "import", `${dir.path}/notes.pcap`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Cannot import .*notes\.pcap: .*pcap and pcapng files are accepted/);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  const missing = await runPad(["--db", db, "import", `${dir.path}/nope.pcap`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read capture file .*nope\.pcap/);
  const badNet = await runPad([
    "--db",
    db,
    "import",
    `${dir.path}/notes.pcap`,
    "--local",
    "300.1.1.1/8",
  ]);
  assert.equal(badNet.code, 2);
  assert.match(badNet.stderr, /Invalid network "300.1.1.1\/8"/);
  assert.equal(query(db, "SELECT count(*) AS n FROM rounds")[0]!.n, 0);
});

Deno.test("an import while another runs on the same database does nothing, exit 4", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/a.pcap`;
  writePcap(file, 1, [{ tsMs: Date.UTC(2026, 0, 1), data: new Uint8Array(60) }]);
  {
    using _other = lockRole(db, "import");
    const busy = await runPad(["--db", db, "import", file]);
    assert.equal(busy.code, 4, busy.stderr);
    assert.match(busy.stderr, /Another pad import is running on .*pad\.db .*this run did nothing/);
    assert.equal(busy.stderr.trim().split("\n").length, 1);
    assert.deepEqual(query(db, "SELECT count(*) AS n FROM imports"), [{ n: 0 }]);
  }
  const after = await runPad(["--db", db, "import", file]);
  assert.equal(after.code, 0, after.stderr);
});

const MANIFEST: [string, number][] = [
  ["B02_zeek_quic_win11_firefox_google.pcap", 441],
  ["B03_ndpi_android.pcap", 500],
  ["B04_ndpi_KakaoTalk_talk_sll.pcap", 3203],
  ["B05_tcpdump_quic_handshake_null.pcap", 18],
  ["B06_zeek_linux_dlt_sll2.pcap", 6],
  ["A03_ndpi_ppa_synscan_scanme.pcap", 2011],
  ["A07_ndpi_dns_tunnel_iodine.pcap", 438],
];

Deno.test({
  name: "pad import stores every shared capture, each frame accounted for",
  ignore: !havePcaps,
  async fn() {
    using dir = tempDir();
    for (const [name, frames] of MANIFEST) {
      const db = `${dir.path}/${name}.db`;
      const run = await runPad(["--db", db, "import", new URL(name, PCAPS).pathname]);
      assert.equal(run.code, 0, run.stderr);
      const match =
        /(\d+) rounds?, (\d+) IP packets of (\d+) frames \((\d+) malformed, (\d+) not IP\)/
          .exec(run.stdout);
      assert.ok(match, run.stdout);
      const [, rounds, ip, total, malformed, nonIp] = match.map(Number);
      assert.equal(total, frames, name);
      assert.equal(ip! + malformed! + nonIp!, frames, name);
      const stored = query(
        db,
        "SELECT count(*) AS rounds, sum(packets_seen) AS seen FROM rounds",
      )[0]!;
      assert.equal(stored.rounds, rounds, name);
      assert.equal(stored.seen, ip, name);
    }
  },
});

Deno.test({
  name:
    "import of the SYN scan shows about a thousand remote ports; the iodine tunnel its long names",
  ignore: !havePcaps,
  async fn() {
    using dir = tempDir();
    const scan = `${dir.path}/scan.db`;
    await importFile(scan, new URL("A03_ndpi_ppa_synscan_scanme.pcap", PCAPS).pathname);
    const [widest] = query(scan, "SELECT max(remote_ports) AS n FROM round_traffic");
    assert.ok((widest!.n as number) >= 900, `remote ports ${widest!.n}`);
    // The scanner is the local (private) address: its SYNs reach ~1,000 ports of one address.
    const [spread] = query(
      scan,
      "SELECT ports_per_peer_out AS out, peer_out, from_port_out, ports_per_peer_in AS inbound " +
        "FROM round_connections ORDER BY ports_per_peer_out DESC LIMIT 1",
    );
    assert.ok((spread!.out as number) >= 900, `SYN spread out ${spread!.out}`);
    assert.ok((spread!.inbound as number) <= 1, `SYN spread in ${spread!.inbound}`);
    // scanme.nmap.org, scanned from one source port (nmap's).
    assert.equal(spread!.peer_out, "64.13.134.52");
    assert.ok((spread!.from_port_out as number) > 0);

    const tunnel = `${dir.path}/tunnel.db`;
    await importFile(tunnel, new URL("A07_ndpi_dns_tunnel_iodine.pcap", PCAPS).pathname);
    const [names] = query(
      tunnel,
      "SELECT count(*) AS n, avg(length(qry_name)) AS len FROM packets WHERE qry_name IS NOT NULL",
    );
    assert.ok((names!.n as number) >= 400, `DNS packets ${names!.n}`);
    assert.ok((names!.len as number) > 50, `average length ${names!.len}`);
  },
});
