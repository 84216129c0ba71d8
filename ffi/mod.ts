/**
 * libpcap through Deno's FFI: a capture handle, interface listing and the library version.
 *
 * @module
 */

export {
  findAllDevices,
  libVersion,
  linkTypeDescription,
  type LiveOptions,
  Pcap,
  type PcapDevice,
  PcapError,
  type PcapHeader,
  type PcapPacket,
  type PcapStats,
  PcapStatus,
  type SocketAddress,
} from "./pcap.ts";
export { type FrameVisitor, PacketRing, RingLayoutError } from "./ring.ts";
export { LIBPCAP_ENV, libpcapCandidates, libpcapPath } from "./library.ts";
