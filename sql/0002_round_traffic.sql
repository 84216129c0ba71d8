-- Exact traffic counts per round, local port, transport and direction. They stay when the
-- bulky packet rows are pruned, and they are what the model reads.
CREATE TABLE round_traffic (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  port_id INTEGER REFERENCES ports (id),              -- local port; NULL for ICMP and the like
  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'icmp', 'icmpv6', 'other')),
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  packets INTEGER NOT NULL,
  bytes INTEGER NOT NULL,                             -- bytes on the wire
  peers INTEGER NOT NULL,                             -- distinct remote addresses
  remote_ports INTEGER NOT NULL                       -- distinct remote ports
);
CREATE INDEX round_traffic_by_round ON round_traffic (round_id);
CREATE INDEX round_traffic_by_port ON round_traffic (port_id);

-- The uid owning a socket (procfs probe): known even where its process cannot be read.
ALTER TABLE rounds_ports ADD COLUMN uid INTEGER;
