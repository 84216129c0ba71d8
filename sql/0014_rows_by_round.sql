-- A round's traffic counts and flows are stored together, in the order of (round_id, id): the
-- table is its own index by round, so the separate round_id indexes go. Every reader selects by
-- round, and the indexes were 4.2 of an office LAN import's 28.7 MB and a tenth of its inserts.
-- `id` is now the row's number within its round.
CREATE TABLE round_traffic_new (
  id INTEGER NOT NULL,                                -- the row's number within its round
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  port_id INTEGER REFERENCES ports (id),              -- local port; NULL for ICMP and the like
  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'icmp', 'icmpv6', 'other')),
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  packets INTEGER NOT NULL,
  bytes INTEGER NOT NULL,                             -- bytes on the wire
  peers INTEGER NOT NULL,                             -- distinct remote addresses
  remote_ports INTEGER NOT NULL,                      -- distinct remote ports
  accepts INTEGER,                                    -- SYN-ACKs sent (tcp, out)
  PRIMARY KEY (round_id, id)
) WITHOUT ROWID;
INSERT INTO round_traffic_new
  SELECT row_number() OVER (PARTITION BY round_id ORDER BY id), round_id, port_id, protocol,
    direction, packets, bytes, peers, remote_ports, accepts
  FROM round_traffic;
DROP TABLE round_traffic;
ALTER TABLE round_traffic_new RENAME TO round_traffic;

CREATE TABLE flows_new (
  id INTEGER NOT NULL,                                -- the flow's number within its round
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
  dns_answer TEXT,                                    -- and first answer name
  PRIMARY KEY (round_id, id)
) WITHOUT ROWID;
INSERT INTO flows_new
  SELECT row_number() OVER (PARTITION BY round_id ORDER BY id), round_id, protocol, family,
    local_addr, port_id, remote_addr, remote_port, direction, pid, command, first_seen, last_seen,
    packets_in, packets_out, bytes_in, bytes_out, tcp_flags, state, dns_query, dns_answer
  FROM flows;
DROP TABLE flows;
ALTER TABLE flows_new RENAME TO flows;
