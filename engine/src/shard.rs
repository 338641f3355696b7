//! One shard's part of a catalog: a run of whole blocks, so that its response and hint buffers
//! are exactly the bytes a single server would send for those blocks.

use std::ops::Range;
use std::str::FromStr;

use veilrank_core::noise::CatalogNoiseStats;
use veilrank_core::{Error, Result};

/// What a shard needs of the whole catalog besides its own part: its size, and the noise
/// statistics every shard's plan (modulus, response width) is chosen from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Whole {
    /// Items in the whole catalog.
    pub items: usize,
    /// The whole catalog's [`CatalogNoiseStats`].
    pub stats: CatalogNoiseStats,
}

/// Shard `index` of `count` (0-based, as Kubernetes numbers a StatefulSet's pods).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: usize,
    count: usize,
}

/// Most shards of one catalog: more would leave parts of a block or two.
pub const MAX_SHARDS: usize = 1024;

impl Shard {
    /// Shard `index` of `count`; an error unless `index < count <= MAX_SHARDS`.
    pub fn try_new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(Error::Malformed(format!(
                "shard {index}/{count}: the index counts from 0 and must be below the count, \
                 which is 1 to {MAX_SHARDS}"
            )));
        }
        Ok(Self { index, count })
    }

    /// The whole catalog as one shard.
    #[must_use]
    pub fn whole() -> Self {
        Self { index: 0, count: 1 }
    }

    /// Its 0-based index.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many shards the catalog is cut in.
    #[must_use]
    pub fn count(&self) -> usize {
        self.count
    }

    /// The blocks of a catalog of `blocks` blocks this shard owns: as even a split as whole
    /// blocks allow, in order. An error where some shard would own none.
    pub fn blocks(&self, blocks: usize) -> Result<Range<usize>> {
        if blocks < self.count {
            return Err(Error::Malformed(format!(
                "a catalog of {blocks} blocks cannot be cut in {} shards of whole blocks",
                self.count
            )));
        }
        Ok(self.index * blocks / self.count..(self.index + 1) * blocks / self.count)
    }

    /// The items this shard owns in a catalog of `items` items, `n` per block.
    pub fn items(&self, items: usize, n: usize) -> Result<Range<usize>> {
        let blocks = self.blocks(items.div_ceil(n))?;
        Ok(blocks.start * n..(blocks.end * n).min(items))
    }
}

impl FromStr for Shard {
    type Err = Error;

    /// `K/S`: shard K of S, K from 0.
    fn from_str(s: &str) -> Result<Self> {
        let parse = |part: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                Error::Malformed(format!("shard {s:?} is not K/S (e.g. 0/3, the first of 3)"))
            })
        };
        let (index, count) = s.split_once('/').ok_or_else(|| {
            Error::Malformed(format!("shard {s:?} is not K/S (e.g. 0/3, the first of 3)"))
        })?;
        Self::try_new(parse(index)?, parse(count)?)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard::try_new(2, 3).unwrap()
        );
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "0/2000", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?}");
        }
        assert_eq!(Shard::try_new(1, 4).unwrap().to_string(), "1/4");
    }

    /// The parts cover every block once, in order, each non-empty, for every split.
    #[test]
    fn the_parts_tile_the_catalog() {
        for blocks in 1..40 {
            for count in 1..=blocks {
                let mut next = 0;
                for index in 0..count {
                    let part = Shard::try_new(index, count)
                        .unwrap()
                        .blocks(blocks)
                        .unwrap();
                    assert_eq!(part.start, next);
                    assert!(!part.is_empty());
                    next = part.end;
                }
                assert_eq!(next, blocks);
            }
            assert!(Shard::try_new(0, blocks + 1)
                .unwrap()
                .blocks(blocks)
                .is_err());
        }
        let last = Shard::try_new(2, 3).unwrap();
        assert_eq!(last.items(5000, 1000).unwrap(), 3000..5000);
        assert_eq!(
            Shard::try_new(0, 3).unwrap().items(5001, 1000).unwrap(),
            0..2000
        );
        assert_eq!(last.items(5001, 1000).unwrap(), 4000..5001);
    }
}
