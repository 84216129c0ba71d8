/**
 * The libpcap symbols pad binds, one entry per C function with its prototype beside it.
 *
 * `buffer` parameters take a typed array (C strings must be NUL-terminated; out-parameters are
 * `BigUint64Array(1)`); `pointer` parameters take a `Deno.PointerValue`. Symbols added to libpcap
 * after 1.0 are `optional` so that an older library still loads; callers check for `null`.
 *
 * @module
 */

/** The libpcap function table for `Deno.dlopen`. */
export const symbols = {
  // pcap_t *pcap_create(const char *source, char *errbuf);
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  // int pcap_set_snaplen(pcap_t *p, int snaplen);
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_promisc(pcap_t *p, int promisc);
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_timeout(pcap_t *p, int to_ms);
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_set_immediate_mode(pcap_t *p, int immediate_mode);  (libpcap >= 1.5)
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32", optional: true },
  // int pcap_set_buffer_size(pcap_t *p, int buffer_size);
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  // int pcap_activate(pcap_t *p);
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  // int pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf);
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  // int pcap_next_ex(pcap_t *p, struct pcap_pkthdr **pkt_header, const u_char **pkt_data);
  pcap_next_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  // pcap_t *pcap_open_offline(const char *fname, char *errbuf);
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
  // pcap_t *pcap_open_offline_with_tstamp_precision(const char *fname, u_int precision,
  //                                                 char *errbuf);  (libpcap >= 1.5)
  pcap_open_offline_with_tstamp_precision: {
    parameters: ["buffer", "u32", "buffer"],
    result: "pointer",
    optional: true,
  },
  // int pcap_datalink(pcap_t *p);
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  // int pcap_compile(pcap_t *p, struct bpf_program *fp, const char *str, int optimize,
  //                  bpf_u_int32 netmask);
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  // int pcap_setfilter(pcap_t *p, struct bpf_program *fp);
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  // void pcap_freecode(struct bpf_program *fp);
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  // int pcap_stats(pcap_t *p, struct pcap_stat *ps);
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  // char *pcap_geterr(pcap_t *p);
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  // const char *pcap_statustostr(int error);
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  // int pcap_findalldevs(pcap_if_t **alldevsp, char *errbuf);
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  // void pcap_freealldevs(pcap_if_t *alldevs);
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  // const char *pcap_datalink_val_to_description(int dlt);  (NULL when unknown)
  pcap_datalink_val_to_description: { parameters: ["i32"], result: "pointer" },
  // const char *pcap_lib_version(void);
  pcap_lib_version: { parameters: [], result: "pointer" },
  // int pcap_get_selectable_fd(pcap_t *p); -1 where the handle has none to poll.
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  // void pcap_close(pcap_t *p);
  pcap_close: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's symbols, as `Deno.dlopen` types them. */
export type PcapSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];
