/**
 * Headless Chromium for the report's tests: the DOM a real browser builds from a file, a
 * screenshot of it, and a PNG decoder (zlib via DecompressionStream, then the PNG row filters)
 * to tell a rendered page from a blank one.
 *
 * @module
 */

/** Debian's chromium; CI installs it. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@linkcode CHROMIUM} is installed. */
export function chromiumAvailable(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/**
 * Flags that keep the browser off the network and away from the user's profile: root needs
 * `--no-sandbox`, and each run gets its own throwaway profile directory.
 */
function flags(profile: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
  ];
}

async function chromium(args: string[]): Promise<string> {
  const profile = Deno.makeTempDirSync({ prefix: "pad_chromium_" });
  try {
    const output = await new Deno.Command(CHROMIUM, {
      args: [...flags(profile), ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    if (!output.success) {
      throw new Error(
        `chromium exited ${output.code}: ${new TextDecoder().decode(output.stderr).slice(-2000)}`,
      );
    }
    return stdout;
  } finally {
    Deno.removeSync(profile, { recursive: true });
  }
}

/** The DOM Chromium built from `file` (`--dump-dom`), serialized. */
export function dumpDom(file: string): Promise<string> {
  return chromium(["--dump-dom", `file://${file}`]);
}

/** A PNG screenshot of `file` in a window of `width` × `height`. */
export async function screenshot(file: string, width = 1280, height = 2000): Promise<Uint8Array> {
  const dir = Deno.makeTempDirSync({ prefix: "pad_shot_" });
  try {
    const png = `${dir}/shot.png`;
    await chromium([`--screenshot=${png}`, `--window-size=${width},${height}`, `file://${file}`]);
    return Deno.readFileSync(png);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** A decoded image: `channels` bytes per pixel (3 RGB, 4 RGBA), rows top to bottom. */
export interface Image {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes). */
export async function decodePng(bytes: Uint8Array): Promise<Image> {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error("Not a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, channels = 0;
  const idat: Uint8Array[] = [];
  for (let at = 8; at < bytes.length;) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      const [depth, colour, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) {
        throw new Error(
          `Unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`,
        );
      }
      channels = colour === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    at += 12 + length; // length, type, data, CRC
  }
  const zlib = new Blob(idat as BlobPart[]).stream().pipeThrough(
    new DecompressionStream("deflate"),
  );
  const raw = new Uint8Array(await new Response(zlib).arrayBuffer());
  return { width, height, channels, pixels: unfilter(raw, width, height, channels) };
}

/** Undoes the per-row filters of PNG (None, Sub, Up, Average, Paeth). */
function unfilter(raw: Uint8Array, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[row + i - bpp]! : 0;
      const b = y > 0 ? out[row - stride + i]! : 0;
      const c = i >= bpp && y > 0 ? out[row - stride + i - bpp]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`Bad PNG filter ${filter} in row ${y}`);
      out[row + i] = (src[i]! + predictor) & 0xff;
    }
  }
  return out;
}

/** What an image holds: its distinct colours, and the share of pixels not of its commonest colour. */
export function imageStats(image: Image): { colours: number; notBackground: number } {
  const counts = new Map<number, number>();
  const { pixels, channels } = image;
  for (let i = 0; i < pixels.length; i += channels) {
    const rgb = (pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!;
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const total = image.width * image.height;
  const background = Math.max(...counts.values());
  return { colours: counts.size, notBackground: (total - background) / total };
}
