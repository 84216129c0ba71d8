-- The tables written for every round state their CHECK lists as comparisons joined by OR. SQLite
-- evaluates a CHECK of `IN` over three or more values by building a temporary table for every
-- row it writes; that was a third of the time an office LAN import spent storing its 390,000
-- rows. The values allowed are the same. (Two-value lists such as `IN ('in', 'out')` are already
-- compared directly.)
CREATE TABLE round_traffic_new (
  id INTEGER NOT NULL,                                -- the row's number within its round
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  port_id INTEGER REFERENCES ports (id),              -- local port; NULL for ICMP and the like
  protocol TEXT NOT NULL CHECK (protocol = 'tcp' OR protocol = 'udp' OR protocol = 'icmp' OR
    protocol = 'icmpv6' OR protocol = 'other'),
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  packets INTEGER NOT NULL,
  bytes INTEGER NOT NULL,                             -- bytes on the wire
  peers INTEGER NOT NULL,                             -- distinct remote addresses
  remote_ports INTEGER NOT NULL,                      -- distinct remote ports
  accepts INTEGER,                                    -- SYN-ACKs sent (tcp, out)
  PRIMARY KEY (round_id, id)
) WITHOUT ROWID;
INSERT INTO round_traffic_new (id, round_id, port_id, protocol, direction, packets, bytes, peers,
    remote_ports, accepts)
  SELECT id, round_id, port_id, protocol, direction, packets, bytes, peers, remote_ports, accepts
  FROM round_traffic;
DROP TABLE round_traffic;
ALTER TABLE round_traffic_new RENAME TO round_traffic;

CREATE TABLE flows_new (
  id INTEGER NOT NULL,                                -- the flow's number within its round
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  protocol TEXT NOT NULL CHECK (protocol = 'tcp' OR protocol = 'udp' OR protocol = 'icmp' OR
    protocol = 'icmpv6' OR protocol = 'other'),
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  local_addr TEXT NOT NULL,                           -- this host's end (loopback: the starter's)
  port_id INTEGER REFERENCES ports (id),              -- local port; NULL for ICMP and the like
  remote_addr TEXT NOT NULL,
  remote_port INTEGER,
  direction TEXT NOT NULL                             -- who started it
    CHECK (direction = 'in' OR direction = 'out' OR direction = 'local'),
  pid INTEGER,                                        -- the local port's process, where known
  command TEXT,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  packets_in INTEGER NOT NULL,
  packets_out INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,                          -- bytes on the wire
  bytes_out INTEGER NOT NULL,
  tcp_flags INTEGER,                                  -- flags seen either way, ORed
  state TEXT CHECK (state = 'unanswered' OR state = 'reset' OR state = 'closed' OR
    state = 'open'),
  dns_query TEXT,                                     -- DNS flows: first query name
  dns_answer TEXT,                                    -- and first answer name
  PRIMARY KEY (round_id, id)
) WITHOUT ROWID;
INSERT INTO flows_new (id, round_id, protocol, family, local_addr, port_id, remote_addr,
    remote_port, direction, pid, command, first_seen, last_seen, packets_in, packets_out,
    bytes_in, bytes_out, tcp_flags, state, dns_query, dns_answer)
  SELECT id, round_id, protocol, family, local_addr, port_id, remote_addr, remote_port, direction,
    pid, command, first_seen, last_seen, packets_in, packets_out, bytes_in, bytes_out, tcp_flags,
    state, dns_query, dns_answer
  FROM flows;
DROP TABLE flows;
ALTER TABLE flows_new RENAME TO flows;

CREATE TABLE packets_new (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  timestamp INTEGER NOT NULL,
  protocols TEXT NOT NULL,                            -- layers, e.g. eth:ipv4:udp:dns
  qry_name TEXT,                                      -- DNS query name
  resp_name TEXT,                                     -- DNS response name
  port_id INTEGER REFERENCES ports (id),              -- local port; NULL for ICMP
  remote_port INTEGER,                                -- the original's dest_port: the other end
  direction TEXT NOT NULL CHECK (direction = 'in' OR direction = 'out' OR direction = 'local'),
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  remote_addr TEXT,
  length INTEGER NOT NULL,                            -- bytes on the wire
  payload BLOB                                        -- first --payload-bytes bytes; NULL by default
);
INSERT INTO packets_new (id, round_id, timestamp, protocols, qry_name, resp_name, port_id,
    remote_port, direction, family, remote_addr, length, payload)
  SELECT id, round_id, timestamp, protocols, qry_name, resp_name, port_id, remote_port, direction,
    family, remote_addr, length, payload
  FROM packets;
DROP TABLE packets;
ALTER TABLE packets_new RENAME TO packets;
CREATE INDEX packets_by_round ON packets (round_id);
