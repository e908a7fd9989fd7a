-- 0002: job leases, for servers sharing one database (store.Job.Owner):
-- the server that runs a job and until when (unix ns; 0: no lease, which
-- has always ended). SQLite's 0019.
ALTER TABLE jobs ADD COLUMN owner TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
