//! Raw submissions packed once per batch (`submission_batches`): the items of a push as
//! received, ID numbers already sealed, concatenated in item order and deflated into one body,
//! with the end offset of each item so item *k* can be cut out again.
//!
//! Owns the stored format: `encoding` names the compression (only [`ENCODING`] so far),
//! `item_ends` is one little-endian `u32` per item, the byte offset in the decompressed body
//! where the item ends (item *k* spans `ends[k-1]..ends[k]`, item 0 starts at 0).
//!
//! Invariants: packing then cutting item *k* gives back exactly the text packed as item *k*;
//! stored bytes that do not decode are reported as corrupt, never cut at a guess. Depends on
//! nothing above the store.

use super::StoreError;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::io::{Read as _, Write as _};

/// The only encoding written: raw DEFLATE (RFC 1951) at the fast level (the body is written
/// inside the push's transaction, and is read only when someone opens a raw submission).
pub const ENCODING: &str = "deflate";

/// A packed batch: what `submission_batches` stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The compressed items.
    pub body: Vec<u8>,
    /// One little-endian `u32` end offset per item.
    pub item_ends: Vec<u8>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("a packed batch of raw submissions: {what}"))
}

/// Packs these items, in order.
pub fn pack<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Packed, StoreError> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
    let mut item_ends = Vec::new();
    let mut end: usize = 0;
    for item in items {
        encoder
            .write_all(item.as_bytes())
            .map_err(|e| corrupt(format!("deflate failed: {e}")))?;
        end = end.saturating_add(item.len());
        let end32 = u32::try_from(end).map_err(|_| corrupt("the batch exceeds 4 GiB"))?;
        item_ends.extend_from_slice(&end32.to_le_bytes());
    }
    let body = encoder
        .finish()
        .map_err(|e| corrupt(format!("deflate failed: {e}")))?;
    Ok(Packed { body, item_ends })
}

/// A batch decompressed once, from which any of its items can be cut.
#[derive(Debug, Clone)]
pub struct Unpacked {
    text: Vec<u8>,
    ends: Vec<usize>,
}

/// Decompresses a stored batch.
pub fn unpack(encoding: &str, body: &[u8], item_ends: &[u8]) -> Result<Unpacked, StoreError> {
    if encoding != ENCODING {
        return Err(corrupt(format!("unknown encoding {encoding:?}")));
    }
    let chunks = item_ends.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return Err(corrupt("item_ends is not a whole number of u32"));
    }
    let mut ends = Vec::with_capacity(item_ends.len() / 4);
    for chunk in chunks {
        let bytes: [u8; 4] = chunk
            .try_into()
            .map_err(|_| corrupt("item_ends is not a whole number of u32"))?;
        let end = usize::try_from(u32::from_le_bytes(bytes))
            .map_err(|_| corrupt("an end offset does not fit in memory"))?;
        ends.push(end);
    }
    let expected = ends.last().copied().unwrap_or(0);
    let mut text = Vec::with_capacity(expected);
    // Read one byte more than expected, so a body longer than its offsets say is caught.
    let limit = u64::try_from(expected).map_or(u64::MAX, |n| n.saturating_add(1));
    DeflateDecoder::new(body)
        .take(limit)
        .read_to_end(&mut text)
        .map_err(|e| corrupt(format!("inflate failed: {e}")))?;
    if text.len() != expected {
        return Err(corrupt(format!(
            "the body holds {} bytes, its offsets say {expected}",
            text.len()
        )));
    }
    Ok(Unpacked { text, ends })
}

impl Unpacked {
    /// How many items the batch holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch holds no item.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Item `k` (from 0), as the text packed.
    pub fn item(&self, k: i64) -> Result<String, StoreError> {
        let k = usize::try_from(k).map_err(|_| corrupt(format!("no item {k}")))?;
        let end = *self
            .ends
            .get(k)
            .ok_or_else(|| corrupt(format!("no item {k} in {} items", self.ends.len())))?;
        let start = match k.checked_sub(1) {
            Some(prev) => self.ends.get(prev).copied().unwrap_or(0),
            None => 0,
        };
        let bytes = self
            .text
            .get(start..end)
            .ok_or_else(|| corrupt(format!("item {k} spans {start}..{end}, out of order")))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| corrupt(format!("item {k} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn items_come_back_as_packed() {
        let items = [
            r#"{"CF_XDR_MC":"上海某某餐饮有限公司","证件号码":"enc:v1:abc"}"#,
            "",
            r#"{"a":1}"#,
        ];
        let packed = pack(items).unwrap();
        assert_eq!(packed.item_ends.len(), 12);
        let un = unpack(ENCODING, &packed.body, &packed.item_ends).unwrap();
        assert_eq!(un.len(), 3);
        for (k, item) in items.iter().enumerate() {
            assert_eq!(un.item(i64::try_from(k).unwrap()).unwrap(), *item);
        }
        assert!(un.item(3).is_err());
        assert!(un.item(-1).is_err());
    }

    #[test]
    fn damage_is_reported_not_guessed() {
        let packed = pack(["{\"a\":1}", "{\"b\":2}"]).unwrap();
        assert!(unpack("gzip", &packed.body, &packed.item_ends).is_err());
        assert!(unpack(ENCODING, &packed.body, &packed.item_ends[..7]).is_err());
        // Offsets that claim more (or less) than the body holds.
        let mut longer = packed.item_ends.clone();
        longer[4] += 1;
        assert!(unpack(ENCODING, &packed.body, &longer).is_err());
        let mut shorter = packed.item_ends.clone();
        shorter[4] -= 1;
        assert!(unpack(ENCODING, &packed.body, &shorter).is_err());
        assert!(unpack(ENCODING, b"not deflate at all", &packed.item_ends).is_err());
        // Offsets out of order: the body decodes, but no item can be cut.
        let swapped = [7u32, 5u32]
            .iter()
            .flat_map(|n| n.to_le_bytes())
            .collect::<Vec<u8>>();
        let body = pack(["abcde"]).unwrap().body;
        let un = unpack(ENCODING, &body, &swapped).unwrap();
        assert!(matches!(un.item(0), Err(StoreError::Corrupt(_))));
        assert!(matches!(un.item(1), Err(StoreError::Corrupt(_))));
    }

    proptest! {
        #[test]
        fn any_items_round_trip(items in proptest::collection::vec(".{0,40}", 0..20)) {
            let packed = pack(items.iter().map(String::as_str)).unwrap();
            let un = unpack(ENCODING, &packed.body, &packed.item_ends).unwrap();
            prop_assert_eq!(un.len(), items.len());
            for (k, item) in items.iter().enumerate() {
                prop_assert_eq!(&un.item(i64::try_from(k).unwrap()).unwrap(), item);
            }
        }
    }
}
