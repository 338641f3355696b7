package dev.veilrank

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The Kotlin bindings against a real veilrank-server on loopback (started by bindings/run-tests):
 * every result is compared with the plaintext computation on the same catalog file.
 */
class VeilrankTest {
    private val url = System.getenv("VEILRANK_URL")!!
    private val apiKey = System.getenv("VEILRANK_API_KEY")!!
    private val plain = Plaintext(File(System.getenv("VEILRANK_TEST_CATALOG")!!))

    private fun connect(key: String? = apiKey) = Client.connect(url, ConnectOptions(apiKey = key))

    @Test
    fun recommendationsEqualThePlaintextRanking() {
        connect().use { client ->
            SecretKey.generate().use { key ->
                assertEquals(plain.items.size.toULong(), client.catalog().itemCount)
                assertEquals(plain.dimension.toUInt(), client.catalog().dimension)
                val prefs = plain.preferences(1)
                assertRanking(plain.top(prefs, 10), client.recommend(key, prefs.asFloats(), 10u))
                // the whole ranking: ties (equal items) go to the earlier one
                val all = plain.items.size
                assertRanking(plain.top(prefs, all), client.recommend(key, prefs.asFloats(), all.toUInt()))
                assertEquals(plain.scores(prefs), client.scores(key, prefs.asFloats()))
            }
        }
    }

    @Test
    fun topicsMakePreferences() {
        connect().use { client ->
            SecretKey.generate().use { key ->
                val alpha = plain.topics["alpha"]!!
                assertEquals(alpha.asFloats(), client.preferencesFromTopics(listOf("alpha")))
                val prefs = client.preferencesFromTopics(listOf("Alpha"))
                assertRanking(plain.top(alpha, 5), client.recommend(key, prefs, 5u))
                try {
                    client.preferencesFromTopics(listOf("no-such-topic"))
                    fail("an unknown topic must be an error")
                } catch (e: VeilrankException.InvalidPreferences) {
                    assertTrue(e.message!!, e.detail.contains("alpha"))
                }
            }
        }
    }

    @Test
    fun aSavedKeyDecryptsWhatTheFirstOneEncrypted() {
        connect().use { client ->
            val bytes = SecretKey.generate().use { key -> key.toBytes() }
            SecretKey.fromBytes(bytes).use { restored ->
                assertArrayEquals(bytes, restored.toBytes())
                val prefs = plain.preferences(2)
                assertRanking(plain.top(prefs, 10), client.recommend(restored, prefs.asFloats(), 10u))
            }
            val broken = bytes.copyOf().also { it[it.size - 1] = (it[it.size - 1] + 1).toByte() }
            try {
                SecretKey.fromBytes(broken)
                fail("corrupt key bytes must be refused")
            } catch (e: VeilrankException.InvalidInput) {
                assertTrue(e.message!!, e.detail.isNotEmpty())
            }
        }
    }

    @Test
    fun aStoredProfileLivesAndDies() {
        connect().use { client ->
            SecretKey.generate().use { key ->
                val first = plain.preferences(3)
                val profile = client.createProfile(key, first.asFloats())
                assertEquals(plain.dimension.toUInt(), profile.info().dimension)
                assertEquals(profile.id(), client.profileInfo(profile).id)
                assertRanking(plain.top(first, 10), client.recommendProfile(profile, key, 10u))

                val second = plain.preferences(4)
                client.replaceProfile(profile, key, second.asFloats())
                assertRanking(plain.top(second, 10), client.recommendProfile(profile, key, 10u))

                // kept by the app (keystore) and read back: the same profile
                val saved = Profile.fromJson(profile.toJson())
                assertEquals(profile.id(), saved.id())
                assertRanking(plain.top(second, 3), client.recommendProfile(saved, key, 3u))

                client.deleteProfile(saved)
                try {
                    client.recommendProfile(profile, key, 3u)
                    fail("an erased profile must not score")
                } catch (e: VeilrankException.ProfileNotFound) {
                }
                try {
                    Profile.fromJson("{\"id\": 1}")
                    fail("garbage is not a profile")
                } catch (e: VeilrankException.InvalidInput) {
                }
            }
        }
    }

    @Test
    fun sansIoWithTheAppsOwnHttpStack() {
        val http = HttpClient.newHttpClient()
        fun get(path: String) = http.send(
            HttpRequest.newBuilder(URI("$url$path")).header("x-api-key", apiKey).build(),
            HttpResponse.BodyHandlers.ofByteArray(),
        )
        val session = Session(String(get("/v1/catalog").body()))
        val catalog = session.catalog()
        SecretKey.generate().use { key ->
            val prefs = plain.preferences(5)
            val query = session.encrypt(key, prefs.asFloats())
            val response = http.send(
                HttpRequest.newBuilder(URI("$url/v1/catalogs/${catalog.id}/score"))
                    .header("x-api-key", apiKey)
                    .header("content-type", "application/octet-stream")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(query.body)).build(),
                HttpResponse.BodyHandlers.ofByteArray(),
            )
            assertEquals(200, response.statusCode())
            assertTrue(response.body().size.toULong() <= session.responseSizeLimit())
            val hint = session.decodeHint(get("/v1/catalogs/${catalog.id}/hint").body())
            val scores = session.decrypt(key, hint, response.body())
            assertEquals(plain.scores(prefs), scores)
            val items = mutableListOf<ItemInfo>()
            while (items.size.toULong() < catalog.itemCount) {
                items += session.itemsPage(String(get("/v1/catalogs/${catalog.id}/items?offset=${items.size}&limit=1000").body()))
            }
            assertRanking(plain.top(prefs, 10), session.rank(scores, query.scale, items, 10u))
        }
        val unauthorized = http.send(
            HttpRequest.newBuilder(URI("$url/v1/catalog")).build(),
            HttpResponse.BodyHandlers.ofByteArray(),
        )
        val error = errorFromResponse(unauthorized.statusCode().toUShort(), unauthorized.body(), null)
        assertTrue(error.toString(), error is VeilrankException.Unauthorized)
    }

    @Test
    fun failuresAreTypedExceptions() {
        try {
            connect("not-a-key-of-this-server")
            fail("a wrong API key must be refused")
        } catch (e: VeilrankException.Unauthorized) {
        }
        val closed = java.net.ServerSocket(0).use { it.localPort } // nothing listens there now
        try {
            Client.connect("http://127.0.0.1:$closed", ConnectOptions())
            fail("a server that is down must be an error")
        } catch (e: VeilrankException.Network) {
        }
        try {
            Client.connect(url, ConnectOptions(rootCertificatesPem = listOf("not a certificate")))
            fail("a root certificate that is not PEM must be refused")
        } catch (e: VeilrankException.InvalidInput) {
            assertTrue(e.detail, e.detail.contains("certificate"))
        }
        connect().use { client ->
            SecretKey.generate().use { key ->
                try {
                    client.recommend(key, listOf(1f, 2f), 3u)
                    fail("preferences of the wrong length must be refused")
                } catch (e: VeilrankException.InvalidPreferences) {
                    assertTrue(e.detail, e.detail.contains("${plain.dimension}"))
                }
                val nan = MutableList(plain.dimension) { 1f }.also { it[0] = Float.NaN }
                try {
                    client.recommend(key, nan, 3u)
                    fail("NaN preferences must be refused")
                } catch (e: VeilrankException.InvalidPreferences) {
                }
            }
        }
        // a key allowed one request a minute: the manifest, then a 429 with its Retry-After
        Client.connect(url, ConnectOptions(apiKey = System.getenv("VEILRANK_TIGHT_API_KEY")!!)).use { client ->
            SecretKey.generate().use { key ->
                try {
                    client.recommend(key, plain.preferences(6).asFloats(), 3u)
                    fail("the second request must be rate limited")
                } catch (e: VeilrankException.RateLimited) {
                    assertNotEquals(0uL, e.retryAfterSecs)
                }
            }
        }
    }
}
