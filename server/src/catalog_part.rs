//! A catalog split beforehand, so that a shard reads only its part: per shard K of S, a NumPy
//! matrix of its items' vectors (`ID.K-of-S.npy`), their ids and titles (`.ids`), and a sidecar
//! (`.npy.part.json`) with what the shard needs of the whole catalog and cannot compute from its
//! part: the quantization scale, the precision, the content version, the noise statistics, the
//! item count and the topics. `veilrank-server --split-into DIR --split-shards S` writes them; a `--catalog`
//! whose file has a sidecar beside it is served as that part.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use veilrank_core::api::Topic;
use veilrank_core::noise::CatalogNoiseStats;
use veilrank_core::Precision;
use veilrank_engine::{Shard, Whole};

use crate::catalog::ServedCatalog;
use crate::error::{Result, ServerError};

/// The sidecar's format version.
const FORMAT: u32 = 1;
/// Largest sidecar read.
const MAX_SIDECAR_BYTES: u64 = 16 << 20;

/// What a part's shard needs of the whole catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartFacts {
    /// The sidecar's format version.
    pub format: u32,
    /// `K/S`.
    pub shard: String,
    /// Items in the whole catalog.
    pub catalog_items: usize,
    /// The whole catalog's dimension.
    pub dimension: usize,
    /// The whole catalog's quantization scale.
    pub scale: f32,
    /// The precision the catalog was split at (absent: 8/8, the sidecars before precisions;
    /// left out at 8/8, so those stay readable by servers before precisions).
    #[serde(default = "baseline", skip_serializing_if = "is_baseline")]
    pub precision: Precision,
    /// The whole catalog's content version (hex).
    pub content_version: String,
    /// The whole catalog's noise statistics.
    pub noise_sum_sq: f64,
    /// The whole catalog's noise statistics (the DC part).
    pub noise_dc_sq: f64,
    /// The catalog's topics.
    pub topics: Vec<Topic>,
}

fn baseline() -> Precision {
    Precision::BASELINE
}

fn is_baseline(precision: &Precision) -> bool {
    *precision == Precision::BASELINE
}

impl PartFacts {
    /// The shard, parsed.
    pub fn shard(&self) -> Result<Shard> {
        self.shard
            .parse()
            .map_err(|e| ServerError::Config(format!("part sidecar: {e}")))
    }

    /// The whole catalog as the engine needs it: its rows (a row per limb of each item).
    #[must_use]
    pub fn whole(&self) -> Whole {
        Whole {
            items: self.precision.rows(self.catalog_items),
            stats: CatalogNoiseStats {
                sum_sq: self.noise_sum_sq,
                dc_sq: self.noise_dc_sq,
            },
        }
    }
}

/// The sidecar of a part's `.npy`: the same path with `.part.json` added.
#[must_use]
pub fn sidecar_path(npy: &Path) -> PathBuf {
    let mut name = npy.as_os_str().to_owned();
    name.push(".part.json");
    PathBuf::from(name)
}

/// The sidecar beside `path`, if there is one (then `path` is a part).
pub fn read_sidecar(path: &Path) -> Result<Option<PartFacts>> {
    let sidecar = sidecar_path(path);
    let fail = |what: String| ServerError::Config(format!("{}: {what}", sidecar.display()));
    let file = match std::fs::File::open(&sidecar) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e.to_string())),
    };
    // read no more than a sidecar can be: its topics are the catalog's few named directions
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_SIDECAR_BYTES + 1),
        &mut text,
    )
    .map_err(|e| fail(e.to_string()))?;
    if text.len() as u64 > MAX_SIDECAR_BYTES {
        return Err(fail(format!("larger than {MAX_SIDECAR_BYTES} bytes")));
    }
    parse_sidecar(&text)
        .map(Some)
        .map_err(|e| ServerError::Config(format!("{}: {e}", sidecar.display())))
}

/// A sidecar's text, parsed and checked: its format, its shard, finite non-negative noise
/// statistics, a positive scale.
pub fn parse_sidecar(text: &str) -> std::result::Result<PartFacts, String> {
    let facts: PartFacts = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if facts.format != FORMAT {
        return Err(format!(
            "format {} (this server reads {FORMAT})",
            facts.format
        ));
    }
    facts.shard().map_err(|e| e.to_string())?;
    if facts.catalog_items > veilrank_core::reference::MAX_ITEMS {
        return Err(format!(
            "a catalog of {} items, more than the {} a catalog may have",
            facts.catalog_items,
            veilrank_core::reference::MAX_ITEMS
        ));
    }
    let finite = |x: f64| x.is_finite() && x >= 0.0;
    if !(finite(facts.noise_sum_sq) && finite(facts.noise_dc_sq)) {
        return Err("its noise statistics are not finite non-negative numbers".into());
    }
    if !(facts.scale.is_finite() && facts.scale > 0.0) {
        return Err(format!("scale {} is not a positive number", facts.scale));
    }
    Ok(facts)
}

/// Writes `catalog` cut in `shards` parts into `dir`; returns the `.npy` files, in order.
pub fn split(catalog: &ServedCatalog, shards: usize, dir: &Path) -> Result<Vec<PathBuf>> {
    let id = &catalog.reference.id;
    let n = catalog.params.polynomial_size;
    let io =
        |path: &Path, e: std::io::Error| ServerError::Config(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let (precision, dim) = (catalog.params.precision, catalog.dim);
    let stats = CatalogNoiseStats::of_catalog(&catalog.params, dim, catalog.quantized());
    let mut written = Vec::with_capacity(shards);
    for k in 0..shards {
        let shard = Shard::try_new(k, shards).map_err(|e| ServerError::Config(e.to_string()))?;
        // shards own whole blocks of rows; a block holds whole items (limbs divide N)
        let rows = shard
            .items(precision.rows(catalog.items.len()), n)
            .map_err(|e| ServerError::Config(format!("catalog {id:?}: {e}")))?;
        let limbs = precision.limbs();
        let range = rows.start / limbs..rows.end / limbs;
        let npy = dir.join(format!("{id}.{k}-of-{shards}.npy"));
        // the quantized values times the scale: quantized again with the same scale, they give
        // back exactly the same values
        let values =
            precision.values_of(&catalog.quantized()[rows.start * dim..rows.end * dim], dim);
        write_npy(&npy, range.len(), dim, &values, catalog.scale).map_err(|e| io(&npy, e))?;
        let ids = crate::catalog_npy::ids_path(&npy);
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(&ids).map_err(|e| io(&ids, e))?);
        for item in &catalog.items[range.clone()] {
            if [&item.id, &item.title]
                .iter()
                .any(|t| t.contains(['\t', '\n', '\r']))
            {
                return Err(ServerError::Config(format!(
                    "item {:?} has a tab or a line break in its id or title, which a part's \
                     .ids file cannot hold",
                    item.id
                )));
            }
            let line = if item.title.is_empty() {
                format!("{}\n", item.id)
            } else {
                format!("{}\t{}\n", item.id, item.title)
            };
            out.write_all(line.as_bytes()).map_err(|e| io(&ids, e))?;
        }
        out.flush().map_err(|e| io(&ids, e))?;
        let facts = PartFacts {
            format: FORMAT,
            shard: shard.to_string(),
            catalog_items: catalog.items.len(),
            dimension: catalog.dim,
            scale: catalog.scale,
            precision,
            content_version: catalog.reference.version.to_hex(),
            noise_sum_sq: stats.sum_sq,
            noise_dc_sq: stats.dc_sq,
            topics: catalog.topics.clone(),
        };
        let sidecar = sidecar_path(&npy);
        let json = serde_json::to_vec_pretty(&facts)
            .map_err(|e| ServerError::Config(format!("{}: {e}", sidecar.display())))?;
        std::fs::write(&sidecar, json).map_err(|e| io(&sidecar, e))?;
        written.push(npy);
    }
    Ok(written)
}

/// A float32 `.npy` matrix of `rows x cols` values `q x scale`.
fn write_npy(path: &Path, rows: usize, cols: usize, q: &[i16], scale: f32) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    crate::catalog_npy::write_f32_header(&mut out, rows, cols)?;
    for &v in q {
        out.write_all(&(f32::from(v) * scale).to_le_bytes())?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> PartFacts {
        PartFacts {
            format: FORMAT,
            shard: "1/3".into(),
            catalog_items: 5000,
            dimension: 4,
            scale: 0.5,
            precision: Precision::BASELINE,
            content_version: "ab".repeat(32),
            noise_sum_sq: 1.0,
            noise_dc_sq: 2.0,
            topics: Vec::new(),
        }
    }

    #[test]
    fn sidecars_round_trip_and_bad_ones_say_why() {
        let text = serde_json::to_string(&facts()).unwrap();
        assert_eq!(parse_sidecar(&text).unwrap(), facts());
        let bad = |f: fn(&mut PartFacts)| {
            let mut facts = facts();
            f(&mut facts);
            parse_sidecar(&serde_json::to_string(&facts).unwrap()).unwrap_err()
        };
        assert!(bad(|f| f.format = 2).contains("format 2"));
        assert!(bad(|f| f.shard = "3/3".into()).contains("shard"));
        assert!(bad(|f| f.noise_sum_sq = -1.0).contains("noise"));
        assert!(bad(|f| f.scale = 0.0).contains("scale"));
        assert!(bad(|f| f.catalog_items = usize::MAX).contains("more than"));
        assert!(parse_sidecar("{\"format\": 1}").is_err());
        assert!(parse_sidecar(&text.replace("\"format\"", "\"extra\": 1, \"format\"")).is_err());
        // 8/8 is left out, as before precisions; another precision is stated and read back
        assert!(!text.contains("precision"));
        let wide = PartFacts {
            precision: "12/10".parse().unwrap(),
            ..facts()
        };
        let text = serde_json::to_string(&wide).unwrap();
        assert!(text.contains("\"precision\""), "{text}");
        assert_eq!(parse_sidecar(&text).unwrap(), wide);
    }
}
