//! Features of normalised text: word 1–2-grams and character 2–5-grams
//! within word boundaries (each word padded with a space on both sides),
//! each named by a 64-bit FNV-1a hash so nothing is allocated per n-gram.
//!
//! Character n-grams carry most of the signal for WhatsApp spelling,
//! Sheng and Swahili's prefixes (`nime-`, `tuna-`), where no stemmer exists.

use super::normalize::words;

/// Word n-grams taken: unigrams and bigrams.
pub const WORD_NGRAMS: std::ops::RangeInclusive<usize> = 1..=2;
/// Character n-grams taken inside each padded word.
pub const CHAR_NGRAMS: std::ops::RangeInclusive<usize> = 2..=5;

/// Which family a feature belongs to; each family is weighted and
/// normalised on its own, as two vectorisers side by side would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Block {
    /// Word n-grams.
    Word,
    /// Character n-grams.
    Char,
}

impl Block {
    /// Both families, in storage order.
    pub const ALL: [Block; 2] = [Block::Word, Block::Char];

    fn seed(self) -> u64 {
        match self {
            Block::Word => FNV_OFFSET,
            // A different start keeps `ab` the word apart from `ab` the n-gram.
            Block::Char => FNV_OFFSET ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The family a feature hash was made in (its lowest bit).
    pub fn of(hash: u64) -> Block {
        if hash & 1 == 0 { Block::Word } else { Block::Char }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Marks a hash with its family in the lowest bit.
fn tag(h: u64, block: Block) -> u64 {
    match block {
        Block::Word => h & !1,
        Block::Char => h | 1,
    }
}

/// Every feature of `normalized`, with its count, sorted by hash.
pub fn counted(normalized: &str) -> Vec<(u64, u32)> {
    let mut all = Vec::with_capacity(normalized.len() * 4);
    each(normalized, |h| all.push(h));
    all.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::with_capacity(all.len());
    for h in all {
        match out.last_mut() {
            Some((last, n)) if *last == h => *n += 1,
            _ => out.push((h, 1)),
        }
    }
    out
}

/// Calls `f` with the hash of every feature of `normalized`, repeats
/// included.
pub fn each(normalized: &str, mut f: impl FnMut(u64)) {
    let ws: Vec<&str> = words(normalized).collect();
    let word = Block::Word.seed();
    for n in WORD_NGRAMS {
        for gram in ws.windows(n) {
            let mut h = word;
            for (i, w) in gram.iter().enumerate() {
                if i > 0 {
                    h = fnv(h, b" ");
                }
                h = fnv(h, w.as_bytes());
            }
            f(tag(h, Block::Word));
        }
    }
    let seed = Block::Char.seed();
    let mut bounds: Vec<usize> = Vec::with_capacity(32);
    let mut padded = String::with_capacity(32);
    for w in &ws {
        padded.clear();
        padded.push(' ');
        padded.push_str(w);
        padded.push(' ');
        bounds.clear();
        bounds.extend(padded.char_indices().map(|(i, _)| i));
        bounds.push(padded.len());
        let len = bounds.len() - 1;
        for n in CHAR_NGRAMS {
            if n >= len {
                // A word no longer than `n` counts once, whole.
                f(tag(fnv(seed, padded.as_bytes()), Block::Char));
                break;
            }
            for start in 0..=len - n {
                let gram = &padded.as_bytes()[bounds[start]..bounds[start + n]];
                f(tag(fnv(seed, gram), Block::Char));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_padded_character_grams() {
        let mut n = 0;
        each("ni bei", |_| n += 1);
        // Words: ni, bei, "ni bei". Chars of " ni " (4): 3 + 2 + 1 (whole,
        // then stop); of " bei " (5): 4 + 3 + 2 + 1.
        assert_eq!(n, 3 + 6 + 10);
        let counted = counted("sawa sawa");
        let total: u32 = counted.iter().map(|(_, c)| c).sum();
        assert_eq!(total, 3 + 2 * (5 + 4 + 3 + 2));
        assert!(counted.windows(2).all(|w| w[0].0 < w[1].0), "sorted, one entry each");
        assert!(counted.iter().any(|(_, c)| *c == 2), "the repeated word counts twice");
    }

    #[test]
    fn families_are_marked_and_hashes_stable() {
        let mut all = Vec::new();
        each("ab", |h| all.push(h));
        let words = all.iter().filter(|h| Block::of(**h) == Block::Word).count();
        assert_eq!((words, all.len() - words), (1, 3 + 2 + 1));
        let mut again = Vec::new();
        each("ab", |h| again.push(h));
        assert_eq!(all, again);
    }
}
