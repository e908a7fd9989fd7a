-- 0004: every server of several sharing one database serves every job's
-- logs (SQLite's 0021): a finished step's log is kept in the blob store
-- under steps.log (its digest), and each server records the URL the others
-- reach it at, to read the live log of a step it runs.
ALTER TABLE steps ADD COLUMN log TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE replicas ADD COLUMN address TEXT COLLATE "C" NOT NULL DEFAULT '';
