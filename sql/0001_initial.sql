-- pad schema, version 1. Times are milliseconds since the Unix epoch (UTC).
-- The original's four tables keep their names and meaning; what it lacked is added.

-- One collect run (or one slice of an imported capture).
CREATE TABLE rounds (
  id INTEGER PRIMARY KEY,
  start_time INTEGER NOT NULL,
  end_time INTEGER,                                   -- NULL while the round is open
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'failed')),
  source TEXT NOT NULL DEFAULT 'live' CHECK (source IN ('live', 'import')),
  source_file TEXT,                                   -- the capture a round was imported from
  probe TEXT CHECK (probe IN ('listen', 'procfs')),   -- NULL when ports were not swept
  sweeps INTEGER NOT NULL DEFAULT 0,                  -- sweeps stored so far
  ports_unknown INTEGER NOT NULL DEFAULT 0,           -- port probes that could not tell (permission)
  interface TEXT,                                     -- capture interface; NULL when capture was off
  capture_off TEXT,                                   -- why capture was off, when it was
  pcap_received INTEGER,                              -- pcap_stats at round end
  pcap_dropped INTEGER,
  pcap_if_dropped INTEGER,
  packets_seen INTEGER NOT NULL DEFAULT 0,            -- IP packets decoded
  packets_stored INTEGER NOT NULL DEFAULT 0,          -- rows written to packets
  packets_malformed INTEGER NOT NULL DEFAULT 0,       -- frames the decoder rejected
  error TEXT,                                         -- why a failed round failed
  CHECK (end_time IS NULL OR end_time >= start_time)
);
CREATE INDEX rounds_by_start_time ON rounds (start_time);
CREATE INDEX rounds_not_complete ON rounds (status) WHERE status <> 'complete';

-- Port numbers pad has seen, with when it first saw each (any protocol, any family).
CREATE TABLE ports (
  id INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 65535),
  value INTEGER GENERATED ALWAYS AS (id) VIRTUAL,     -- the original's column; the id is the port
  first_seen INTEGER NOT NULL
);

-- A port seen occupied during a round, per protocol and address family.
CREATE TABLE rounds_ports (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  port_id INTEGER NOT NULL REFERENCES ports (id),
  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  sweeps_seen INTEGER NOT NULL DEFAULT 1,             -- how many of the round's sweeps saw it
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  address TEXT,                                       -- bound address (procfs probe)
  socket_state TEXT,                                  -- LISTEN, ESTABLISHED, UNCONN... (procfs)
  pid INTEGER,                                        -- owning process (procfs, where readable)
  command TEXT,
  UNIQUE (round_id, port_id, protocol, family)
);
CREATE INDEX rounds_ports_by_port ON rounds_ports (port_id);

-- Individual packets; the bulky table, pruned sooner than rounds.
CREATE TABLE packets (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  timestamp INTEGER NOT NULL,
  protocols TEXT NOT NULL,                            -- layers, e.g. eth:ipv4:udp:dns
  qry_name TEXT,                                      -- DNS query name
  resp_name TEXT,                                     -- DNS response name
  port_id INTEGER REFERENCES ports (id),              -- local port; NULL for ICMP
  remote_port INTEGER,                                -- the original's dest_port: the other end
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'local')),
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  remote_addr TEXT,
  length INTEGER NOT NULL,                            -- bytes on the wire
  payload BLOB                                        -- first --payload-bytes bytes; NULL by default
);
CREATE INDEX packets_by_round ON packets (round_id);
