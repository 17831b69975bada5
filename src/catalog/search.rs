//! Text search over product titles and tags that survives typos: every word of the
//! catalog is indexed once; a query word matches catalog words that equal it, start with
//! it, or lie within a small edit distance (one edit up to 7 letters, two beyond;
//! swapped neighbours count as one edit). Chinese text is searched character by
//! character. A query is plain text: nothing in it is ever interpreted.

use std::collections::HashMap;

/// Words longer than this are cut; no product word needs more.
const MAX_WORD: usize = 40;
/// At most this many words of a query are used.
pub const MAX_QUERY_WORDS: usize = 8;

#[derive(Debug, Default)]
pub struct SearchIndex {
    words: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
    /// For each word, the products (index positions) that contain it, ascending.
    postings: Vec<Vec<u32>>,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Lower-cased words of letters and digits; each CJK character is a word of its own.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            if word.chars().count() < MAX_WORD {
                word.extend(c.to_lowercase());
            }
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

impl SearchIndex {
    pub fn add(&mut self, product: u32, text: &str) {
        for word in tokenize(text) {
            let id = match self.ids.get(word.as_str()) {
                Some(id) => *id,
                None => {
                    let id = self.words.len() as u32;
                    let boxed: Box<str> = word.into_boxed_str();
                    self.words.push(boxed.clone());
                    self.ids.insert(boxed, id);
                    self.postings.push(Vec::new());
                    id
                }
            };
            let list = &mut self.postings[id as usize];
            if list.last() != Some(&product) {
                list.push(product);
            }
        }
    }

    pub fn shrink(&mut self) {
        for p in &mut self.postings {
            p.shrink_to_fit();
        }
        self.words.shrink_to_fit();
        self.postings.shrink_to_fit();
    }

    fn allowed_edits(len: usize) -> usize {
        match len {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        }
    }

    /// Catalog words a query word may stand for.
    fn expand(&self, query: &str) -> Vec<u32> {
        if let Some(id) = self.ids.get(query) {
            // An exact word still also matches longer words it starts ("serum" ->
            // "serums") but not typo neighbours, which would only add noise.
            let mut out = vec![*id];
            if query.chars().count() >= 3 {
                out.extend(
                    self.words
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| w.len() > query.len() && w.starts_with(query))
                        .map(|(i, _)| i as u32),
                );
            }
            return out;
        }
        let qlen = query.chars().count();
        let edits = Self::allowed_edits(qlen);
        self.words
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                let wlen = w.chars().count();
                (qlen >= 3 && w.starts_with(query))
                    || (edits > 0
                        && wlen.abs_diff(qlen) <= edits
                        && strsim::osa_distance(query, w) <= edits)
            })
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Products matching every word of the query, as a bit set over index positions;
    /// `None` for an empty query (no filter).
    pub fn search(&self, query: &str, products: usize) -> Option<Vec<u64>> {
        let words: Vec<String> = tokenize(query).into_iter().take(MAX_QUERY_WORDS).collect();
        if words.is_empty() {
            return None;
        }
        let blocks = products.div_ceil(64);
        let mut result: Option<Vec<u64>> = None;
        for word in words {
            let mut bits = vec![0u64; blocks];
            for id in self.expand(&word) {
                for &p in &self.postings[id as usize] {
                    bits[p as usize / 64] |= 1 << (p % 64);
                }
            }
            result = Some(match result {
                None => bits,
                Some(mut acc) => {
                    for (a, b) in acc.iter_mut().zip(bits) {
                        *a &= b;
                    }
                    acc
                }
            });
        }
        result
    }
}

pub fn contains(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        let mut idx = SearchIndex::default();
        idx.add(0, "Luma Hydrating Serum beauty,skincare");
        idx.add(1, "Kaxin Cotton Hoodie apparel,mens");
        idx.add(2, "Bolu Vitamin C Serum 30ml");
        idx.add(3, "有机 大米 rice");
        idx
    }

    fn hits(idx: &SearchIndex, q: &str) -> Vec<usize> {
        match idx.search(q, 4) {
            None => vec![0, 1, 2, 3],
            Some(bits) => (0..4).filter(|i| contains(&bits, *i)).collect(),
        }
    }

    #[test]
    fn typos_still_find_the_product() {
        let idx = index();
        assert_eq!(hits(&idx, "serum"), vec![0, 2]);
        assert_eq!(hits(&idx, "sreum"), vec![0, 2], "swapped letters");
        assert_eq!(hits(&idx, "hodie"), vec![1], "a missing letter");
        assert_eq!(hits(&idx, "hydratting"), vec![0], "a doubled letter");
        assert_eq!(
            hits(&idx, "vitamin serum"),
            vec![2],
            "every word must match"
        );
        assert_eq!(hits(&idx, "SERUM"), vec![0, 2]);
        assert_eq!(hits(&idx, "hyd"), vec![0], "a prefix");
    }

    #[test]
    fn sql_and_html_are_only_text() {
        let idx = index();
        assert!(hits(&idx, "' OR 1=1 --").is_empty());
        assert!(hits(&idx, "<script>alert(1)</script>").is_empty());
        assert_eq!(hits(&idx, ""), vec![0, 1, 2, 3]);
        assert_eq!(hits(&idx, "   ;;; "), vec![0, 1, 2, 3]);
    }

    #[test]
    fn chinese_is_searched_by_character() {
        let idx = index();
        assert_eq!(hits(&idx, "大米"), vec![3]);
        assert!(hits(&idx, "小米").is_empty());
    }
}
