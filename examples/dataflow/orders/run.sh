#!/usr/bin/env bash
# PostgreSQL -> Parquet in a datastore -> an Azure ML job that trains on it.
#
# Starts a throwaway PostgreSQL (scripts/postgres.sh) with the shop's
# orders, imports the factory in adf/ into a fresh ciel home, and runs the
# pipeline train_orders twice: delta_copy copies the new orders to Parquet
# in the datastore "lake", a ciel activity registers that folder as the data
# asset orders, and the job in ml/ trains scikit-learn on
# azureml:orders@latest and logs r2 with MLflow. Between the runs more
# orders arrive; the second run copies only those.
#
#   examples/dataflow/orders/run.sh [WORKDIR]
#
# Needs ciel (on PATH, or bin/ciel from scripts/setup.sh) and a Python with
# pandas, pyarrow, scikit-learn and mlflow (the repository's .venv from
# scripts/pyenv.sh). WORKDIR (default: a new temporary folder) keeps the
# ciel home, the lake and the database; the server and PostgreSQL are
# stopped at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
command -v ciel >/dev/null || export PATH="$root/bin:$PATH"
command -v ciel >/dev/null || { echo "run.sh: no ciel: run scripts/setup.sh or put ciel on PATH" >&2; exit 1; }
[[ -x $root/.venv/bin/python ]] && export PATH="$root/.venv/bin:$PATH"
export CIEL_HOME="$work/home"
python -c 'import pandas, pyarrow, sklearn, mlflow' 2>/dev/null ||
  { echo "run.sh: python lacks pandas, pyarrow, scikit-learn or mlflow: run scripts/pyenv.sh" >&2; exit 1; }

echo "==> PostgreSQL with the shop's orders"
url=$("$root/scripts/postgres.sh" start "$work/pg")
trap 'ciel server stop >/dev/null 2>&1 || true; "$root/scripts/postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true' EXIT
port=${url##*:}; port=${port%%/*}
psql -q "$url" -c 'CREATE DATABASE shop'
psql -q "${url/\/postgres\?//shop?}" -f "$here/setup.sql"

echo "==> a ciel workspace, the datastore lake, the factory"
ciel workspace create --name shop --resource-group shop --location eastus -o none 2>/dev/null || true
ciel configure --defaults workspace=shop
printf 'name: lake\ntype: local\npath: %s\n' "$work/lake" >"$work/lake.yml"
mkdir -p "$work/lake"
ciel datastore create --file "$work/lake.yml" -o none
# Trust authentication: any password does; a real one goes here, never in JSON.
ciel data-factory secret set --name warehouse-password --value unused -o none
rm -rf "$work/adf" && cp -r "$here/adf" "$work/adf"
sed -i "s/\"port\": 5432/\"port\": $port/" "$work/adf/linkedService/warehouse.json"
ciel data-factory import --folder "$work/adf" -o table
# The job file and its code live in the lake, where the factory finds them.
rm -rf "$work/lake/ml" && cp -r "$here/ml" "$work/lake/ml"
# Stand-in for Azure's curated sklearn image: this machine's Python. Without
# it ciel builds the curated environment from PyPI (a few minutes, once).
ciel environment create --name AzureML-sklearn-1.5 --image python -o none

for round in 1 2; do
  echo "==> train_orders, run $round"
  run=$(ciel data-factory pipeline create-run --name train_orders --wait --query runId -o tsv)
  ciel data-factory activity-run query --run-id "$run" -o table
  if [[ $round == 1 ]]; then
    psql -q "${url/\/postgres\?//shop?}" -c "INSERT INTO orders (id, customer, amount, updated_at, quantity)
      SELECT g, 'customer ' || (g % 7), 2.5 * (g % 40), '2026-11-02'::timestamp + g * interval '1 minute', g % 40
      FROM generate_series(401, 600) g"
  fi
done

echo "==> what the factory wrote and what the job learned"
find "$work/lake/curated" -name '*.parquet' | sort
ciel data list --name orders -o table
ciel run list --experiment orders -o table
echo "work folder: $work"
