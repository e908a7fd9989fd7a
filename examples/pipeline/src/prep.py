"""Split the raw breast-cancer table into train and test sets."""
import argparse
import csv
import os

import numpy as np
from sklearn.model_selection import train_test_split

p = argparse.ArgumentParser()
p.add_argument("--raw-data", required=True)
p.add_argument("--test-size", type=float, default=0.25)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--train-data", required=True)
p.add_argument("--test-data", required=True)
a = p.parse_args()

with open(a.raw_data, newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], np.array(rows[1:], dtype=float)
print(f"read {len(body)} rows x {len(header)} columns from {os.path.basename(a.raw_data)}")

train, test = train_test_split(body, test_size=a.test_size, random_state=a.seed, stratify=body[:, -1])
for folder, part in ((a.train_data, train), (a.test_data, test)):
    os.makedirs(folder, exist_ok=True)
    np.savetxt(os.path.join(folder, "data.csv"), part, delimiter=",", header=",".join(header), comments="")
print(f"train rows: {len(train)}, test rows: {len(test)}")
