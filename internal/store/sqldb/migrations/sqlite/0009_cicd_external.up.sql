-- 0009: pipelines whose YAML lives in a repository outside ciel. The server
-- mirrors it into a hosted repository (cicd_pipelines.repository) and keeps
-- where it came from (repository_url, with any credentials the user gave),
-- the branch manual runs default to, and the shared secret its webhook
-- checks. All three are '' for a pipeline of a hosted repository.
ALTER TABLE cicd_pipelines ADD COLUMN repository_url TEXT NOT NULL DEFAULT '';
ALTER TABLE cicd_pipelines ADD COLUMN default_branch TEXT NOT NULL DEFAULT '';
ALTER TABLE cicd_pipelines ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';
