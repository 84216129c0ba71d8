-- A client port that made one connection in a round has two round_traffic rows that repeat its
-- flow: on an office LAN, nine in ten of them. They are no longer stored. The rows stored move to
-- port_traffic; a flow whose port's rows it holds is marked carries_traffic; and round_traffic
-- becomes a view of both, with the same columns and the same rows as before. A row read from a
-- flow has a negative id: -2 × the flow's id for the row in, one less for the row out.
ALTER TABLE flows ADD COLUMN carries_traffic INTEGER CHECK (carries_traffic = 1);
ALTER TABLE round_traffic RENAME TO port_traffic;
CREATE VIEW round_traffic (id, round_id, port_id, protocol, direction, packets, bytes, peers,
    remote_ports, accepts) AS
  SELECT id, round_id, port_id, protocol, direction, packets, bytes, peers, remote_ports, accepts
  FROM port_traffic
  UNION ALL
  SELECT -2 * id, round_id, port_id, protocol, 'in', packets_in, bytes_in, 1,
    remote_port IS NOT NULL, NULL
  FROM flows WHERE carries_traffic = 1 AND packets_in > 0
  UNION ALL
  SELECT -2 * id - 1, round_id, port_id, protocol, 'out', packets_out, bytes_out, 1,
    remote_port IS NOT NULL, CASE WHEN protocol = 'tcp' THEN 0 END
  FROM flows WHERE carries_traffic = 1 AND packets_out > 0;
