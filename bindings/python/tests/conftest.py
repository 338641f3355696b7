"""The test catalog and the plaintext computation every result is compared with. The server is
started by bindings/run-tests, which passes its address in the environment."""

import json
import os
import random

import pytest


class Plaintext:
    def __init__(self, path):
        self.items, self.topics = [], {}
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if "topic" in row:
                    self.topics[row["topic"]] = row["vector"]
                else:
                    self.items.append(row)
        self.dimension = len(self.items[0]["vector"])

    def scores(self, prefs):
        return [sum(a * b for a, b in zip(item["vector"], prefs)) for item in self.items]

    def top(self, prefs, k):
        scores = self.scores(prefs)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
        return [(self.items[i]["id"], scores[i]) for i in order]

    def preferences(self, seed):
        """Integers whose largest magnitude is 127: their quantization scale is exactly 1."""
        rng = random.Random(seed)
        prefs = [rng.randint(-127, 127) for _ in range(self.dimension)]
        prefs[rng.randrange(self.dimension)] = 127
        return prefs


def assert_ranking(expected, actual):
    assert [(i.id, i.raw_score) for i in actual] == expected
    assert [i.rank for i in actual] == list(range(1, len(expected) + 1))
    # both scales are exactly 1: the f32 score is the integer one
    assert [i.score for i in actual] == [float(s) for _, s in expected]


@pytest.fixture(scope="session")
def plain():
    return Plaintext(os.environ["VEILRANK_TEST_CATALOG"])


@pytest.fixture(scope="session")
def server():
    return os.environ["VEILRANK_URL"]


@pytest.fixture(scope="session")
def api_key():
    return os.environ["VEILRANK_API_KEY"]
