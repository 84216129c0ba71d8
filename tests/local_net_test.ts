import assert from "node:assert/strict";
import {
  LocalNetworks,
  parseAddress,
  parseNetwork,
  PRIVATE_NETWORKS,
} from "../src/net/networks.ts";
import { UsageError } from "../src/errors.ts";

Deno.test("parseAddress() reads IPv4, compressed IPv6 and IPv4-mapped IPv6, and rejects the rest", () => {
  assert.deepEqual(parseAddress("192.0.2.1"), new Uint8Array([192, 0, 2, 1]));
  assert.deepEqual([...parseAddress("::1")!], [...Array(15).fill(0), 1]);
  assert.deepEqual([...parseAddress("2001:db8::2:1")!], [
    0x20,
    1,
    0xd,
    0xb8,
    ...Array(8).fill(0),
    0,
    2,
    0,
    1,
  ]);
  assert.deepEqual([...parseAddress("::ffff:10.1.2.3")!], [
    ...Array(10).fill(0),
    0xff,
    0xff,
    10,
    1,
    2,
    3,
  ]);
  for (
    const bad of [
      "",
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      ":::",
      "1:2:3:4:5:6:7:8:9",
      "g::1",
      "1::2::3",
    ]
  ) {
    assert.equal(parseAddress(bad), null, bad);
  }
});

Deno.test("LocalNetworks matches prefixes bit by bit, and loopback is always local", () => {
  const local = new LocalNetworks(["192.168.4.0/22", "2001:db8:ab00::/40"]);
  assert.ok(local.has("192.168.7.255"));
  assert.ok(!local.has("192.168.8.0"));
  assert.ok(local.has("2001:db8:abff::1"));
  assert.ok(!local.has("2001:db8:ac00::1"));
  assert.ok(local.has("127.8.9.10"));
  assert.ok(local.has("::1"));
  assert.ok(local.has("::ffff:192.168.5.1")); // an IPv4 client on a dual-stack socket
  assert.ok(!local.has("not an address"));
});

Deno.test("the default networks for import are private, loopback and link-local ranges", () => {
  const local = new LocalNetworks(PRIVATE_NETWORKS);
  for (
    const a of [
      "10.1.2.3",
      "172.31.0.1",
      "192.168.1.1",
      "100.64.0.9",
      "169.254.3.3",
      "fd00::5",
      "fe80::1",
    ]
  ) {
    assert.ok(local.has(a), a);
  }
  for (const a of ["172.32.0.1", "8.8.8.8", "2001:4860::8888", "203.0.113.5"]) {
    assert.ok(!local.has(a), a);
  }
});

Deno.test("parseNetwork() rejects bad prefixes with a usage error that shows the form", () => {
  for (
    const bad of [
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/x",
      "example.com",
      "10.0.0.0/-1",
      "10.0.0.0/",
      "10.0.0.0/8/8",
    ]
  ) {
    assert.throws(
      () => parseNetwork(bad),
      (e: Error) => e instanceof UsageError && /CIDR such as/.test(e.message),
      bad,
    );
  }
  assert.equal(parseNetwork("10.0.0.0/8").prefix, 8);
  assert.equal(parseNetwork("2001:db8::1").prefix, 128);
});
