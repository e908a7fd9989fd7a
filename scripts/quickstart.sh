#!/usr/bin/env bash
# The quick start: builds ciel and runs the example prep -> train -> evaluate
# pipeline of scikit-learn steps on the embedded default (SQLite, local disk,
# local processes), streaming every step's log and printing the evaluation
# metrics. CIEL_HOME defaults to ~/.ciel.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/bin:$PATH"
cd examples/pipeline

ciel workspace show --name ml_workspace >/dev/null 2>&1 ||
  ciel workspace create --name ml_workspace --resource-group ml_rg --location eastus -o table
ciel configure --defaults workspace=ml_workspace group=ml_rg location=eastus
ciel compute create --name cpu-cluster --type local --max-concurrency 2 -o table
ciel data show --name training_data --version 1 >/dev/null 2>&1 ||
  ciel data create --name training_data --version 1 --type uri_file --path ./data.csv -o table
ciel environment show --name sklearn-env --version 1 >/dev/null 2>&1 ||
  ciel environment create --file env.yml -o table
ciel component create --file components/train.yml -o table >/dev/null 2>&1 || true
ciel job create --file pipeline.yml --stream
