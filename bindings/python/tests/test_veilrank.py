"""The Python package against a real veilrank-server: exact scores and rankings, a stored
profile's whole life, the sans-IO layer, and failures as typed exceptions."""

import os
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest

import veilrank
from conftest import assert_ranking


@pytest.fixture
def client(server, api_key):
    return veilrank.Client(server, api_key=api_key)


def test_recommendations_equal_the_plaintext_ranking(client, plain):
    key = veilrank.SecretKey.generate()
    assert client.catalog.item_count == len(plain.items)
    assert client.catalog.dimension == plain.dimension
    prefs = plain.preferences(1)
    assert_ranking(plain.top(prefs, 10), client.recommend(key, prefs, k=10))
    # the whole ranking: ties (equal items) go to the earlier one
    n = len(plain.items)
    assert_ranking(plain.top(prefs, n), client.recommend(key, prefs, k=n))
    assert client.scores(key, prefs) == plain.scores(prefs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_numpy_arrays_are_preferences(client, plain, dtype):
    key = veilrank.SecretKey.generate()
    prefs = plain.preferences(2)
    assert_ranking(plain.top(prefs, 10), client.recommend(key, np.array(prefs, dtype=dtype), k=10))
    with pytest.raises(ValueError, match="one-dimensional"):
        client.recommend(key, np.ones((2, plain.dimension)), k=3)


def test_topics_make_preferences(client, plain):
    key = veilrank.SecretKey.generate()
    alpha = plain.topics["alpha"]
    assert client.preferences_from_topics("alpha") == [float(v) for v in alpha]
    prefs = client.preferences_from_topics("Alpha")
    assert_ranking(plain.top(alpha, 5), client.recommend(key, prefs, k=5))
    with pytest.raises(veilrank.VeilrankError.InvalidPreferences) as e:
        client.preferences_from_topics("no-such-topic")
    assert "alpha" in e.value.detail


def test_a_saved_key_decrypts_what_the_first_one_encrypted(client, plain):
    data = veilrank.SecretKey.generate().to_bytes()
    restored = veilrank.SecretKey.from_bytes(data)
    assert restored.to_bytes() == data
    prefs = plain.preferences(3)
    assert_ranking(plain.top(prefs, 10), client.recommend(restored, prefs, k=10))
    broken = bytearray(data)
    broken[-1] ^= 1
    with pytest.raises(veilrank.VeilrankError.InvalidInput):
        veilrank.SecretKey.from_bytes(bytes(broken))


def test_a_stored_profile_lives_and_dies(client, plain):
    key = veilrank.SecretKey.generate()
    first = plain.preferences(4)
    profile = client.create_profile(key, first)
    assert profile.info().dimension == plain.dimension
    assert client.profile_info(profile).id == profile.id()
    assert_ranking(plain.top(first, 10), client.recommend_profile(profile, key, k=10))

    second = plain.preferences(5)
    client.replace_profile(profile, key, second)
    assert_ranking(plain.top(second, 10), client.recommend_profile(profile, key, k=10))

    saved = veilrank.Profile.from_json(profile.to_json())
    assert saved.id() == profile.id()
    assert_ranking(plain.top(second, 3), client.recommend_profile(saved, key, k=3))

    client.delete_profile(saved)
    with pytest.raises(veilrank.VeilrankError.ProfileNotFound):
        client.recommend_profile(profile, key, k=3)
    with pytest.raises(veilrank.VeilrankError.InvalidInput):
        veilrank.Profile.from_json('{"id": 1}')


def test_sans_io_with_the_apps_own_http_stack(server, api_key, plain):
    def request(path, data=None, headers=None):
        req = urllib.request.Request(server + path, data=data, headers=headers or {})
        req.add_header("x-api-key", api_key)
        with urllib.request.urlopen(req) as r:
            return r.read()

    session = veilrank.Session(request("/v1/catalog").decode())
    catalog = session.catalog()
    key = veilrank.SecretKey.generate()
    prefs = plain.preferences(6)
    query = session.encrypt(key, [float(v) for v in prefs])
    response = request(
        f"/v1/catalogs/{catalog.id}/score",
        data=query.body,
        headers={"content-type": "application/octet-stream"},
    )
    assert len(response) <= session.response_size_limit()
    hint = session.decode_hint(request(f"/v1/catalogs/{catalog.id}/hint"))
    scores = session.decrypt(key, hint, response)
    assert scores == plain.scores(prefs)
    items = []
    while len(items) < catalog.item_count:
        page = request(f"/v1/catalogs/{catalog.id}/items?offset={len(items)}&limit=1000")
        items += session.items_page(page.decode())
    assert_ranking(plain.top(prefs, 10), session.rank(scores, query.scale, items, 10))

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server + "/v1/catalog")
    error = veilrank.error_from_response(refused.value.code, refused.value.read(), None)
    assert isinstance(error, veilrank.VeilrankError.Unauthorized)


def test_failures_are_typed_exceptions(server, api_key, plain):
    with pytest.raises(veilrank.VeilrankError.Unauthorized):
        veilrank.Client(server, api_key="not-a-key-of-this-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(veilrank.VeilrankError.Network):
        veilrank.Client(f"http://127.0.0.1:{closed}")
    with pytest.raises(veilrank.VeilrankError.InvalidInput) as bad_root:
        veilrank.Client(server, root_certificates_pem=["not a certificate"])
    assert "certificate" in bad_root.value.detail
    client = veilrank.Client(server, api_key=api_key)
    key = veilrank.SecretKey.generate()
    with pytest.raises(veilrank.VeilrankError.InvalidPreferences) as e:
        client.recommend(key, [1.0, 2.0], k=3)
    assert str(plain.dimension) in e.value.detail
    with pytest.raises(veilrank.VeilrankError.InvalidPreferences):
        client.recommend(key, [float("nan")] * plain.dimension, k=3)
    # a key allowed one request a minute: the manifest, then a 429 with its Retry-After
    tight = veilrank.Client(server, api_key=os.environ["VEILRANK_TIGHT_API_KEY"])
    with pytest.raises(veilrank.VeilrankError.RateLimited) as limited:
        tight.recommend(key, plain.preferences(7), k=3)
    assert limited.value.retry_after_secs >= 1
