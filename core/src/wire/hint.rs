//! The hint's two messages: exact (every client understands it) and rounded (about half the
//! bytes; clients ask for it). A client decodes either.

use super::{decode, encode, peek, CatalogRef, MessageKind, Version};
use crate::hint::{Hint, HintMessage, RoundedHintMessage};
use crate::params::ParameterSet;
use crate::{Error, Result};

/// Encodes a catalog's exact hint.
pub fn encode_hint(params: &ParameterSet, catalog: &CatalogRef, hint: &Hint) -> Result<Vec<u8>> {
    encode(params, MessageKind::Hint, catalog, &hint.to_message()?)
}

/// Encodes a catalog's exact hint rounded to `bits` bits per coefficient (the catalog's
/// [`crate::noise::NoisePlan::hint_bits`]).
pub fn encode_rounded_hint(
    params: &ParameterSet,
    catalog: &CatalogRef,
    hint: &Hint,
    bits: u32,
) -> Result<Vec<u8>> {
    let message = hint.to_rounded_message(params, bits)?;
    encode(params, MessageKind::RoundedHint, catalog, &message)
}

/// Decodes the hint, exact or rounded, of `catalog` (in exactly its content version) of `items`
/// items.
pub fn decode_hint(
    params: &ParameterSet,
    catalog: &CatalogRef,
    items: usize,
    bytes: &[u8],
) -> Result<Hint> {
    let limit = super::hint_size_limit(params, items);
    let hint = if peek(bytes)?.kind == MessageKind::RoundedHint as u8 {
        let message: RoundedHintMessage = decode(
            params,
            MessageKind::RoundedHint,
            catalog,
            Version::Exact,
            bytes,
            limit,
        )?;
        Hint::from_rounded_message(params, message)?
    } else {
        let message: HintMessage = decode(
            params,
            MessageKind::Hint,
            catalog,
            Version::Exact,
            bytes,
            limit,
        )?;
        Hint::from_message(params, message)?
    };
    let rows = params.precision.rows(items);
    if hint.items() != rows {
        return Err(Error::Malformed(format!(
            "the hint is for {} rows, the catalog has {rows}",
            hint.items()
        )));
    }
    Ok(hint)
}
