-- Flow records: one row per connection and round, as Zeek's conn.log and NetFlow/IPFIX keep
-- traffic; packet rows become DNS-only by default (collect and import --packets N keep more).
CREATE TABLE flows (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'icmp', 'icmpv6', 'other')),
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  local_addr TEXT NOT NULL,                           -- this host's end (loopback: the starter's)
  port_id INTEGER REFERENCES ports (id),              -- local port; NULL for ICMP and the like
  remote_addr TEXT NOT NULL,
  remote_port INTEGER,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'local')), -- who started it
  pid INTEGER,                                        -- the local port's process, where known
  command TEXT,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  packets_in INTEGER NOT NULL,
  packets_out INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,                          -- bytes on the wire
  bytes_out INTEGER NOT NULL,
  tcp_flags INTEGER,                                  -- flags seen either way, ORed
  state TEXT CHECK (state IN ('unanswered', 'reset', 'closed', 'open')),
  dns_query TEXT,                                     -- DNS flows: first query name
  dns_answer TEXT                                     -- and first answer name
);
CREATE INDEX flows_by_round ON flows (round_id);

ALTER TABLE rounds ADD COLUMN flows_over INTEGER;    -- flows past the limit a round records
