-- How widely one remote address was reached for in the round (TCP SYN without ACK): the most
-- distinct local ports one remote address sent connection attempts to, and the most distinct
-- ports of one remote address this host sent them to. A port scan reaches hundreds in seconds.
-- NULL where capture was off; rounds stored before this migration read as 0.
ALTER TABLE rounds ADD COLUMN syn_ports_per_peer_in INTEGER;
ALTER TABLE rounds ADD COLUMN syn_ports_per_peer_out INTEGER;
