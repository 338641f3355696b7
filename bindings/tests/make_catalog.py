#!/usr/bin/env python3
"""The bindings' test catalog: integer vectors with 127 as the largest magnitude, so that the
catalog's quantization scale is exactly 1 and every score the bindings decrypt must equal the
plain integer dot product that the Kotlin and Python tests compute themselves.

usage: make_catalog.py OUT.jsonl [ITEMS] [DIM]
"""
import json
import random
import sys

out = sys.argv[1]
items = int(sys.argv[2]) if len(sys.argv) > 2 else 2500
dim = int(sys.argv[3]) if len(sys.argv) > 3 else 16
rng = random.Random(20261202)
with open(out, "w") as f:
    # topics: `preferences_from_topics(["alpha"])` is this vector
    f.write(json.dumps({"topic": "alpha", "vector": [127] + [rng.randint(-127, 127) for _ in range(dim - 1)]}) + "\n")
    f.write(json.dumps({"topic": "beta", "vector": [rng.randint(-60, 60) for _ in range(dim)]}) + "\n")
    for i in range(items):
        vector = [rng.randint(-127, 127) for _ in range(dim)]
        if i == 0:
            vector[0] = -127  # the catalog's largest magnitude, whatever the draw
        # a few equal items: ties must go to the earlier one, as in the plaintext ranking
        if i % 500 == 7:
            vector = [3] * dim
        f.write(json.dumps({"id": f"item-{i}", "title": f"Item {i}", "vector": vector}) + "\n")
