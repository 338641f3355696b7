package dev.veilrank

import java.io.File

/** The test catalog as the tests read it themselves, and the plaintext ranking to compare with. */
class Plaintext(file: File) {
    class Item(val id: String, val title: String, val vector: IntArray)

    val items: List<Item>
    val topics: Map<String, IntArray>

    init {
        val idRe = Regex("\"id\": \"([^\"]*)\"")
        val titleRe = Regex("\"title\": \"([^\"]*)\"")
        val topicRe = Regex("\"topic\": \"([^\"]*)\"")
        val vectorRe = Regex("\"vector\": \\[([^\\]]*)\\]")
        val items = mutableListOf<Item>()
        val topics = mutableMapOf<String, IntArray>()
        file.forEachLine { line ->
            val vector = vectorRe.find(line)!!.groupValues[1].split(",").map { it.trim().toInt() }.toIntArray()
            val topic = topicRe.find(line)
            if (topic != null) {
                topics[topic.groupValues[1]] = vector
            } else {
                items += Item(idRe.find(line)!!.groupValues[1], titleRe.find(line)!!.groupValues[1], vector)
            }
        }
        this.items = items
        this.topics = topics
    }

    val dimension get() = items[0].vector.size

    fun scores(prefs: IntArray): List<Int> = items.map { item ->
        item.vector.indices.sumOf { item.vector[it] * prefs[it] }
    }

    /** (id, score) of the k best, best first, ties to the earlier item. */
    fun top(prefs: IntArray, k: Int): List<Pair<String, Int>> {
        val scores = scores(prefs)
        return scores.indices.sortedWith(compareBy({ -scores[it] }, { it })).take(k)
            .map { items[it].id to scores[it] }
    }

    /** Integer preferences whose largest magnitude is 127: their quantization scale is 1. */
    fun preferences(seed: Long): IntArray {
        val rng = java.util.Random(seed)
        val prefs = IntArray(dimension) { rng.nextInt(255) - 127 }
        prefs[rng.nextInt(dimension)] = 127
        return prefs
    }
}

fun IntArray.asFloats(): List<Float> = map { it.toFloat() }

/** Asserts an SDK ranking equals the plaintext one exactly: ids, ranks, exact and f32 scores. */
fun assertRanking(expected: List<Pair<String, Int>>, actual: List<RankedItem>) {
    org.junit.Assert.assertEquals(expected.size, actual.size)
    actual.forEachIndexed { i, item ->
        org.junit.Assert.assertEquals("rank ${i + 1}", expected[i].first, item.id)
        org.junit.Assert.assertEquals("rank ${i + 1}", expected[i].second, item.rawScore)
        org.junit.Assert.assertEquals((i + 1).toUInt(), item.rank)
        // both scales are exactly 1
        org.junit.Assert.assertEquals(expected[i].second.toFloat(), item.score, 0f)
    }
}
