//! The embedded demo catalog: deterministic, generated at start, with a latent genre structure.
//!
//! Sixteen genres, each a random unit direction. An item belongs to one main genre and, half of
//! the time, a second one; its vector is `main + 0.5 second + noise`. Titles are made from
//! words that fit the main genre and name both genres, so that a person who says "I like jazz
//! and documentaries" can see whether the ranking agrees.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::catalog_file::{RawCatalog, RawItem, Topic};

/// Items in the default demo catalog.
pub const DEFAULT_ITEMS: usize = 100_000;
/// Dimension of the demo catalog.
pub const DIM: usize = 64;
/// The demo catalog's id.
pub const CATALOG_ID: &str = "demo";

/// Genres: a name and nouns that fit it.
const GENRES: [(&str, [&str; 6]); 16] = [
    (
        "sci-fi",
        [
            "Nebula", "Starship", "Android", "Colony", "Wormhole", "Orbit",
        ],
    ),
    (
        "fantasy",
        [
            "Dragon", "Sorcerer", "Kingdom", "Amulet", "Elfwood", "Prophecy",
        ],
    ),
    (
        "romance",
        [
            "Kiss",
            "Promise",
            "Summer Love",
            "Wedding",
            "Letters",
            "Heartstrings",
        ],
    ),
    (
        "horror",
        [
            "Haunting",
            "Crypt",
            "Shadows",
            "Asylum",
            "Curse",
            "Nightmare",
        ],
    ),
    (
        "comedy",
        [
            "Mixup",
            "Roommates",
            "Road Trip",
            "Blunder",
            "Pranksters",
            "Family Reunion",
        ],
    ),
    (
        "thriller",
        [
            "Conspiracy",
            "Hostage",
            "Double Agent",
            "Countdown",
            "Witness",
            "Heist",
        ],
    ),
    (
        "documentary",
        [
            "Chronicle",
            "Expedition",
            "Inquiry",
            "Archive",
            "Portrait",
            "Frontline",
        ],
    ),
    (
        "jazz",
        [
            "Blue Note",
            "Saxophone",
            "Swing",
            "Bebop",
            "Late Set",
            "Trio",
        ],
    ),
    (
        "classical",
        [
            "Sonata", "Symphony", "Nocturne", "Requiem", "Concerto", "Overture",
        ],
    ),
    (
        "hip-hop",
        [
            "Cypher",
            "Block Party",
            "Mixtape",
            "Freestyle",
            "Beat",
            "Crew",
        ],
    ),
    (
        "cooking",
        [
            "Kitchen",
            "Feast",
            "Spice Route",
            "Bakery",
            "Harvest Table",
            "Street Food",
        ],
    ),
    (
        "history",
        [
            "Empire",
            "Revolution",
            "Dynasty",
            "Crusade",
            "Republic",
            "Armada",
        ],
    ),
    (
        "sports",
        [
            "Championship",
            "Comeback",
            "Final Whistle",
            "Marathon",
            "Underdogs",
            "Season",
        ],
    ),
    (
        "animation",
        [
            "Toybox",
            "Little Robot",
            "Cloud Castle",
            "Paper Fox",
            "Bubble Town",
            "Sketchbook",
        ],
    ),
    (
        "nature",
        [
            "Rainforest",
            "Glacier",
            "Coral Reef",
            "Savanna",
            "Wild Coast",
            "Migration",
        ],
    ),
    (
        "crime",
        [
            "Detective",
            "Syndicate",
            "Alibi",
            "Precinct",
            "Cold Case",
            "Mob Boss",
        ],
    ),
];

const ADJECTIVES: [&str; 24] = [
    "Silent", "Last", "Crimson", "Hidden", "Golden", "Broken", "Endless", "Midnight", "Wild",
    "Secret", "Distant", "Electric", "Frozen", "Burning", "Lost", "Hollow", "Bright", "Savage",
    "Gentle", "Restless", "Velvet", "Iron", "Paper", "Northern",
];

/// The genre names, in topic order.
pub fn genre_names() -> Vec<&'static str> {
    GENRES.iter().map(|(name, _)| *name).collect()
}

/// Generates the demo catalog with `items` items (the same catalog for the same count).
pub fn catalog(items: usize) -> RawCatalog {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7665_696c_7261_6e6b); // "veilrank"
    let topics: Vec<Topic> = GENRES
        .iter()
        .map(|(name, _)| Topic {
            name: (*name).to_string(),
            vector: unit(&mut rng),
        })
        .collect();
    let items = (0..items)
        .map(|i| {
            let main = rng.random_range(0..GENRES.len());
            let second = rng
                .random_bool(0.5)
                .then(|| (main + rng.random_range(1..GENRES.len())) % GENRES.len());
            let noun = GENRES[main].1[rng.random_range(0..6)];
            let adjective = ADJECTIVES[rng.random_range(0..ADJECTIVES.len())];
            let genres = match second {
                Some(s) => format!("{}, {}", GENRES[main].0, GENRES[s].0),
                None => GENRES[main].0.to_string(),
            };
            let vector: Vec<f32> = (0..DIM)
                .map(|k| {
                    let mut v = topics[main].vector[k];
                    if let Some(s) = second {
                        v += 0.5 * topics[s].vector[k];
                    }
                    v + 0.06 * rng.random_range(-1.0f32..1.0)
                })
                .collect();
            RawItem {
                id: format!("item-{i:06}"),
                title: format!("The {adjective} {noun} ({genres})"),
                vector,
            }
        })
        .collect();
    RawCatalog {
        dim: DIM,
        items,
        topics,
    }
}

fn unit(rng: &mut ChaCha8Rng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_unique() {
        let a = catalog(500);
        let b = catalog(500);
        assert_eq!(a, b);
        let ids: std::collections::HashSet<_> = a.items.iter().map(|i| &i.id).collect();
        assert_eq!(ids.len(), 500);
        assert_eq!(a.topics.len(), 16);
    }

    #[test]
    fn items_lie_closest_to_their_main_genre() {
        let c = catalog(2000);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let mut agree = 0;
        for item in &c.items {
            let best = c
                .topics
                .iter()
                .max_by(|x, y| {
                    dot(&x.vector, &item.vector).total_cmp(&dot(&y.vector, &item.vector))
                })
                .unwrap();
            // the main genre is the first one named in the title
            if item.title.contains(&format!("({}", best.name)) {
                agree += 1;
            }
        }
        assert!(
            agree > 1800,
            "{agree} of 2000 items closest to their main genre"
        );
    }
}
