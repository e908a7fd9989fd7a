-- 0019: job leases, for servers sharing one database (store.Job.Owner):
-- the server that runs a job and until when (unix ns; 0: no lease, which
-- has always ended).
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
