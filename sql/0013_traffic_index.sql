-- round_traffic is read by round (detect's history, the report, prune's cascade), never by port
-- alone: its by-port index cost an import of an office LAN a sixth of its time and 9% of the file.
DROP INDEX IF EXISTS round_traffic_by_port;
