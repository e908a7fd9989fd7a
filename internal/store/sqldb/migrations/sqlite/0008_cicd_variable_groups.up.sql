-- 0008: CI/CD variable groups (cicd.VariableGroup): named sets of variables a
-- pipeline pulls in with "- group: <name>". The variables are a JSON object
-- of strings. Deleting the workspace deletes its groups.
CREATE TABLE cicd_variable_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace   TEXT    NOT NULL REFERENCES workspaces (name) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    variables   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (workspace, name)
) STRICT;
