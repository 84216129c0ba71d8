-- When a TCP listener (LISTEN) and a UDP one (UNCONN) was first seen on each port. detect's
-- new-listener rule reads these rather than rounds_ports, which prune empties after a week: a
-- service that comes back after longer is not reported as new again. Filled from the rounds
-- still stored.
ALTER TABLE ports ADD COLUMN tcp_listener_first_seen INTEGER;
ALTER TABLE ports ADD COLUMN udp_listener_first_seen INTEGER;
UPDATE ports SET
  tcp_listener_first_seen = (
    SELECT min(first_seen) FROM rounds_ports
    WHERE port_id = ports.id AND protocol = 'tcp' AND socket_state = 'LISTEN'
  ),
  udp_listener_first_seen = (
    SELECT min(first_seen) FROM rounds_ports
    WHERE port_id = ports.id AND protocol = 'udp' AND socket_state = 'UNCONN'
  );
