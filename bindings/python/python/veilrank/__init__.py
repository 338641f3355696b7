"""veilrank for Python: encrypt a preference vector, have a veilrank server score every item on
the ciphertext, and rank the decrypted scores here. The server never sees the preferences, the
scores or the ranking.

    import veilrank
    key = veilrank.SecretKey.generate()          # keep key.to_bytes() secret
    client = veilrank.Client("http://127.0.0.1:8080", api_key=None)
    for item in client.recommend(key, embedding, k=10):  # a list or a 1-D numpy array
        print(item.rank, item.title, item.score)

Calls block (network and CPU): run them in a thread (`asyncio.to_thread`) from async code.
The generated UniFFI module is `veilrank._native`; this module adds numpy-friendly arguments
and keyword defaults.
"""

from ._native import (
    CatalogInfo,
    ConnectOptions,
    EncryptedQuery,
    Hint,
    ItemInfo,
    Profile,
    ProfileInfo,
    RankedItem,
    SecretKey,
    Session,
    VeilrankError,
    error_from_response,
)
from ._native import Client as _NativeClient

__all__ = [
    "CatalogInfo",
    "Client",
    "ConnectOptions",
    "EncryptedQuery",
    "Hint",
    "ItemInfo",
    "Profile",
    "ProfileInfo",
    "RankedItem",
    "SecretKey",
    "Session",
    "VeilrankError",
    "error_from_response",
    "preferences",
]


def preferences(values):
    """A one-dimensional sequence of numbers (list, tuple, numpy array of any numeric dtype) as
    the list of floats the SDK takes."""
    shape = getattr(values, "shape", None)
    if shape is not None and len(shape) != 1:
        raise ValueError(f"preferences must be one-dimensional, not of shape {tuple(shape)}")
    if hasattr(values, "tolist"):
        values = values.tolist()
    return [float(v) for v in values]


class Client:
    """A connection to one catalog of a veilrank server. The manifest, the hint and the titles
    are fetched once per catalog version and kept."""

    def __init__(
        self, base_url, *, api_key=None, catalog=None, ready_timeout=0.0, root_certificates_pem=()
    ):
        """`root_certificates_pem`: PEM texts of certificate authorities trusted for `https://`
        besides Mozilla's roots, which are built in (for a server behind a private CA)."""
        options = ConnectOptions(
            catalog=catalog,
            api_key=api_key,
            ready_timeout_ms=int(ready_timeout * 1000),
            root_certificates_pem=list(root_certificates_pem),
        )
        self._client = _NativeClient.connect(base_url, options)

    @property
    def catalog(self):
        """The catalog version as last fetched (`CatalogInfo`)."""
        return self._client.catalog()

    def preferences_from_topics(self, *topics):
        """Preferences that like the named topics equally."""
        return self._client.preferences_from_topics(list(topics))

    def recommend(self, key, prefs, k=10):
        """The `k` best items for `prefs`, best first (`RankedItem`: rank, id, title, score,
        raw_score); ties go to the earlier catalog item."""
        return self._client.recommend(key, preferences(prefs), k)

    def scores(self, key, prefs):
        """The exact integer score of every item, in catalog order."""
        return self._client.scores(key, preferences(prefs))

    def create_profile(self, key, prefs):
        """Stores `prefs`, encrypted, on the server; keep `profile.to_json()` with the key."""
        return self._client.create_profile(key, preferences(prefs))

    def recommend_profile(self, profile, key, k=10):
        """The `k` best items for a stored profile."""
        return self._client.recommend_profile(profile, key, k)

    def profile_info(self, profile):
        """The server's metadata of a stored profile (`ProfileInfo`)."""
        return self._client.profile_info(profile)

    def replace_profile(self, profile, key, prefs):
        """Replaces a stored profile's preferences; same id and token."""
        return self._client.replace_profile(profile, key, preferences(prefs))

    def delete_profile(self, profile):
        """Erases a stored profile on the server, for good."""
        self._client.delete_profile(profile)
