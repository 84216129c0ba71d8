/** src/path.ts against node:path's POSIX functions, which it stands in for. */
import assert from "node:assert/strict";
import posix from "node:path/posix";
import { fileURLToPath as nodeFileURLToPath } from "node:url";
import { basename, dirname, extname, fileURLToPath, join, resolve } from "../src/path.ts";

const PATHS = [
  "",
  ".",
  "..",
  "...",
  "/",
  "//",
  "///",
  "a",
  "a/",
  "a//",
  "/a",
  "//a",
  "///a",
  "/a/",
  "a/b",
  "a//b",
  "a/b/",
  "/a/b",
  "/a//b//",
  "./a",
  "../a",
  "../../a/b",
  "a/./b",
  "a/../b",
  "a/b/../..",
  "a/b/../../..",
  "/..",
  "/../a",
  "/a/../../b",
  "a/..",
  "a/../",
  ".bashrc",
  "/home/u/.bashrc",
  "a.",
  "a..",
  "..a",
  ".a.b",
  "x/..",
  "x/...",
  "pad.db",
  "/var/lib/pad/pad.db",
  "/var/lib/pad/pad.db/",
  "/var/lib/pad/pad.tar.gz",
  "/var/lib/pad.d/pad",
  "~/pad.db",
  "dir with space/f i.le",
  "/srv/é/ü.db",
  "C:\\pad\\pad.db",
  "a\\b/c.d\\e",
];

Deno.test("dirname, basename and extname as node:path's", () => {
  for (const p of PATHS) {
    assert.equal(dirname(p), posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    assert.equal(basename(p), posix.basename(p), `basename(${JSON.stringify(p)})`);
    assert.equal(extname(p), posix.extname(p), `extname(${JSON.stringify(p)})`);
    // How cron_lines.ts takes a file's stem, and other suffixes. node:path's keeps the trailing
    // slashes of a name that ends with part of the suffix ("a/b/", ".db" → "b/"): not here.
    const suffixes = p.endsWith("/") ? [extname(p)] : [extname(p), ".db", "db", "a", "b", p];
    for (const suffix of suffixes) {
      assert.equal(
        basename(p, suffix),
        posix.basename(p, suffix),
        `basename(${JSON.stringify(p)}, ${JSON.stringify(suffix)})`,
      );
    }
  }
});

Deno.test("join as node:path's", () => {
  for (const a of PATHS) {
    assert.equal(join(a), posix.join(a), `join(${JSON.stringify(a)})`);
    for (const b of ["", ".", "..", "b", "b/", "/b", "../b", "b/../../c"]) {
      assert.equal(
        join(a, b),
        posix.join(a, b),
        `join(${JSON.stringify(a)}, ${JSON.stringify(b)})`,
      );
      assert.equal(join(b, a, "c"), posix.join(b, a, "c"), `join(${b}, ${a}, c)`);
    }
  }
  assert.equal(join(), posix.join());
  assert.equal(join("/home/u", ".config", "pad", "pad.toml"), "/home/u/.config/pad/pad.toml");
});

Deno.test("resolve as node:path's, from the working directory", () => {
  for (const a of PATHS) {
    assert.equal(resolve(a), posix.resolve(a), `resolve(${JSON.stringify(a)})`);
    for (const b of ["", "..", "b", "/b", "../b"]) {
      assert.equal(
        resolve(a, b),
        posix.resolve(a, b),
        `resolve(${JSON.stringify(a)}, ${JSON.stringify(b)})`,
      );
    }
  }
  assert.equal(resolve(), posix.resolve());
  const cwd = Deno.cwd();
  try {
    Deno.chdir("/");
    assert.equal(resolve("../a/"), "/a");
    assert.equal(resolve(".."), "/");
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("fileURLToPath as node:url's for file: URLs", () => {
  for (
    const url of [
      "file:///",
      "file:///tmp/pad/main.ts",
      "file://localhost/tmp/a",
      "file:///tmp/with%20space/%C3%A9.pcap",
      "file:///tmp/a%25b",
      "file:///tmp/a/../b/./c",
      "file:///tmp/a?q=1#f",
    ]
  ) {
    assert.equal(fileURLToPath(new URL(url)), nodeFileURLToPath(new URL(url)), url);
  }
  for (const url of ["https://example.com/a", "file://host/tmp/a", "file:///tmp/a%2Fb"]) {
    assert.throws(() => nodeFileURLToPath(url), TypeError, url);
    assert.throws(() => fileURLToPath(new URL(url)), TypeError, url);
  }
  assert.equal(fileURLToPath(new URL("../src/path.ts", import.meta.url)), resolve("src/path.ts"));
});
