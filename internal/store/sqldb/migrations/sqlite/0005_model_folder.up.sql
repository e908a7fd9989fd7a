-- The folder a model version's files appear under inside AZUREML_MODEL_DIR
-- when it is deployed: the last segment of the path it was registered
-- from, as Azure ML lays a registered folder out. Versions registered
-- before kept their files at the root, which '' still means.
ALTER TABLE model_versions ADD COLUMN folder TEXT NOT NULL DEFAULT '';
