-- A round's TCP connection attempts (SYN without ACK), each way, and who made the most of them:
-- what names a scan, a horizontal scan, a brute force or a flood in an incident's summary, and
-- what the model reads. One row per captured round; none where capture was off. The spread
-- rounds kept since migration 0005 moves here from `rounds`.
CREATE TABLE round_connections (
  round_id INTEGER PRIMARY KEY REFERENCES rounds (id) ON DELETE CASCADE,
  ports_per_peer_in INTEGER NOT NULL,        -- the most local ports one remote address tried
  peer_in TEXT,                              -- that address
  ports_per_peer_out INTEGER NOT NULL,       -- the most ports of one remote address this host tried
  peer_out TEXT,                             -- that address
  from_port_out INTEGER,                     -- the local port most of this host's attempts came from
  peers_in INTEGER NOT NULL,                 -- remote addresses that tried this host
  unanswered_in INTEGER NOT NULL,            -- of them, those it sent nothing back to
  peers_out INTEGER NOT NULL,                -- remote addresses this host tried
  unanswered_out INTEGER NOT NULL,           -- of them, those that sent nothing back
  peers_per_remote_port_out INTEGER NOT NULL, -- the most addresses this host tried on one port
  remote_port_out INTEGER,                   -- that port
  attempts_per_peer_port_in INTEGER NOT NULL, -- the most attempts of one address at one local port
  attempts_peer_in TEXT,
  attempts_port_in INTEGER,
  attempts_per_peer_port_out INTEGER NOT NULL, -- the most attempts of this host at one remote port
  attempts_peer_out TEXT,
  attempts_port_out INTEGER
);
INSERT INTO round_connections (round_id, ports_per_peer_in, ports_per_peer_out, peers_in,
  unanswered_in, peers_out, unanswered_out, peers_per_remote_port_out, attempts_per_peer_port_in,
  attempts_per_peer_port_out)
SELECT id, syn_ports_per_peer_in, syn_ports_per_peer_out, 0, 0, 0, 0, 0, 0, 0
FROM rounds WHERE syn_ports_per_peer_in IS NOT NULL;
ALTER TABLE rounds DROP COLUMN syn_ports_per_peer_in;
ALTER TABLE rounds DROP COLUMN syn_ports_per_peer_out;

-- The server (address:port) most of the round's DNS packets went to or came from.
ALTER TABLE rounds ADD COLUMN dns_server TEXT;

-- TCP connections a local port accepted (SYN-ACKs it sent): a listener seen in traffic.
ALTER TABLE round_traffic ADD COLUMN accepts INTEGER;
