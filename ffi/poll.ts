/**
 * poll(2) from the C library, run off the JavaScript thread (a `nonblocking` FFI call), so a
 * capture loop can sleep until the kernel has packets for it instead of waking on a timer: a
 * flood that starts while it sleeps is read as soon as the first ring block fills, so the ring
 * needs to hold milliseconds of it, not a whole timer period.
 *
 * @module
 */

/** The C library's names: glibc, musl, macOS. */
const LIBC_NAMES = ["libc.so.6", "libc.so", "libSystem.B.dylib"] as const;

const symbols = {
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
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
