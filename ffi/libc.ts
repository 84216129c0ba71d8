/**
 * The C library calls capture needs besides libpcap: poll(2), run off the JavaScript thread
 * (a `nonblocking` FFI call), so a capture loop can sleep until the kernel has packets for it
 * instead of waking on a timer — a flood that starts while it sleeps is read as soon as the
 * first ring block fills, so the ring needs to hold milliseconds of it, not a whole timer period
 * — and getsockopt(2) and setsockopt(2), to check and tune a packet socket before its ring is read
 * in place (ring.ts).
 *
 * @module
 */

/** The C library's names: glibc, musl, macOS. */
const LIBC_NAMES = ["libc.so.6", "libc.so", "libSystem.B.dylib"] as const;

const symbols = {
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const POLLIN = 0x1;

let libc: Deno.DynamicLibrary<typeof symbols> | null | undefined;

/**
 * Resolves when `fd` is readable or after `timeoutMs`, with whether it is readable; null where
 * no C library with poll could be loaded (callers then poll on a timer).
 */
export function waitReadable(fd: number, timeoutMs: number): Promise<boolean> | null {
  libc ??= openLibc();
  if (libc === null) return null;
  // struct pollfd { int fd; short events; short revents; }
  const pollfd = new Int32Array([fd, POLLIN]);
  return libc.symbols.poll(pollfd, 1n, timeoutMs).then((ready) => ready > 0);
}

/**
 * Reads a socket option into `value`; returns the length the kernel set (for SO_GET_FILTER with
 * an empty `value`, the attached program's instruction count), or null if the call failed or
 * there is no C library.
 */
export function getSocketOption(
  fd: number,
  level: number,
  name: number,
  value: Uint8Array | Int32Array,
): number | null {
  libc ??= openLibc();
  if (libc === null) return null;
  const length = new Uint32Array([value.byteLength]);
  return libc.symbols.getsockopt(fd, level, name, value, length) === 0 ? length[0]! : null;
}

/** Sets an int socket option; returns whether the kernel took it. */
export function setSocketOption(fd: number, level: number, name: number, value: number): boolean {
  libc ??= openLibc();
  if (libc === null) return false;
  return libc.symbols.setsockopt(fd, level, name, new Int32Array([value]), 4) === 0;
}

function openLibc(): Deno.DynamicLibrary<typeof symbols> | null {
  for (const name of LIBC_NAMES) {
    try {
      return Deno.dlopen(name, symbols);
    } catch {
      // the next name
    }
  }
  return null;
}
