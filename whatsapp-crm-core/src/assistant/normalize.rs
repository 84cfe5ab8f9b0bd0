//! Text normalisation: what customers type on WhatsApp, in English, Swahili
//! or Sheng, turned into one plain spelling the classifier, FAQ retrieval
//! and handoff words all read.
//!
//! In order: Unicode NFKC (full-width and styled letters become plain),
//! M-Pesa transaction codes, phone numbers and other numbers become the
//! tokens [`MPESA_TOKEN`], [`PHONE_TOKEN`] and [`NUMBER_TOKEN`]; emoji and
//! emoticons become `_name_` tokens (a run of one emoji counts once);
//! letters are lowercased and lose their diacritics (`café` → `cafe`);
//! punctuation and apostrophes go; letter elongation collapses (below);
//! words are separated by one space.
//!
//! Elongation: no English or Swahili word repeats a letter three times, so a
//! run of three or more is an elongation. At the end of a word it becomes one
//! letter (`sawaaa` → `sawa`, `asanteee` → `asante`, `nooo` → `no`); inside
//! a word two (`goood` → `good`), since doubled letters are common there.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Stands for an M-Pesa transaction code (`QK12AB34CD`).
pub const MPESA_TOKEN: &str = "_mpesa_";
/// Stands for a phone number (9 to 15 digits, `+254 712 345 678`).
pub const PHONE_TOKEN: &str = "_phone_";
/// Stands for any other number (`200`, `1,500.50`).
pub const NUMBER_TOKEN: &str = "_num_";
/// Stands for an emoji without a name of its own.
pub const EMOJI_TOKEN: &str = "_emoji_";

/// Digits that make a number a phone number.
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 9..=15;
/// An M-Pesa transaction code's length.
const MPESA_CODE_LEN: usize = 10;

/// Emoji customers use often, by meaning; any other emoji is [`EMOJI_TOKEN`].
const EMOJI: &[(&str, &[char])] = &[
    ("_thumbsup_", &['👍', '👌']),
    ("_thumbsdown_", &['👎']),
    ("_pray_", &['🙏']),
    ("_love_", &['❤', '😍', '🥰', '😘', '💕', '💖', '💯']),
    ("_laugh_", &['😂', '🤣', '😆', '😅']),
    ("_smile_", &['😊', '🙂', '😀', '😁', '😃', '😄', '☺', '😉']),
    ("_sad_", &['😢', '😭', '😞', '😔', '☹', '🙁', '💔']),
    ("_angry_", &['😡', '😠', '🤬', '😤']),
    ("_party_", &['🎉', '🥳']),
    ("_yes_", &['✅', '✔']),
    ("_no_", &['❌', '✖']),
];

/// Emoticons, read as the emoji they stand for.
const EMOTICONS: &[(&str, &str)] = &[
    (":-)", "_smile_"),
    (":)", "_smile_"),
    (":-d", "_laugh_"),
    (":d", "_laugh_"),
    (":-(", "_sad_"),
    (":(", "_sad_"),
    ("<3", "_love_"),
];

/// Normalises `text` for matching (see the module docs).
///
/// ```
/// use whatsapp_crm_core::assistant::normalize;
///
/// assert_eq!(normalize("Sawaaa, ASANTEEE 🙏🙏"), "sawa asante _pray_");
/// assert_eq!(normalize("Nimetuma QK12AB34CD kwa 0712 345 678"), "nimetuma _mpesa_ kwa _phone_");
/// assert_eq!(normalize("Bei ni ksh1,500?"), "bei ni ksh _num_");
/// ```
pub fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.nfkc().collect();
    let mut out = Tokens::default();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some((token, len)) = emoticon_at(&chars[i..]) {
            out.push(token);
            i += len;
        } else if let Some(len) = mpesa_code_at(&chars, i) {
            out.push(MPESA_TOKEN);
            i += len;
        } else if c.is_ascii_digit()
            || (c == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            i = number_at(&chars, i, &mut out);
        } else if c.is_alphabetic() {
            i = word_at(&chars, i, &mut out);
        } else if let Some(token) = emoji_token(c) {
            out.push(token);
            i += 1;
        } else {
            i += 1;
        }
    }
    out.text
}

/// The words of already normalised text.
pub fn words(normalized: &str) -> impl Iterator<Item = &str> {
    normalized.split(' ').filter(|w| !w.is_empty())
}

#[derive(Default)]
struct Tokens {
    text: String,
    last: Option<&'static str>,
}

impl Tokens {
    /// Adds a placeholder; the same one twice in a row counts once.
    fn push(&mut self, token: &'static str) {
        if self.last == Some(token) {
            return;
        }
        self.space();
        self.text.push_str(token);
        self.last = Some(token);
    }

    fn push_word(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        self.space();
        self.text.push_str(word);
        self.last = None;
    }

    fn space(&mut self) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
    }
}

fn emoticon_at(rest: &[char]) -> Option<(&'static str, usize)> {
    let first = *rest.first()?;
    if first != ':' && first != '<' {
        return None;
    }
    EMOTICONS.iter().find_map(|(face, token)| {
        let n = face.chars().count();
        let matches = rest.len() >= n
            && face.chars().zip(rest).all(|(f, c)| c.to_lowercase().eq(std::iter::once(f)));
        // `:d` must not swallow the start of a word (`:done`).
        let ends = rest.get(n).is_none_or(|c| !c.is_alphanumeric());
        (matches && ends).then_some((*token, n))
    })
}

/// An M-Pesa code: ten letters and digits standing alone, starting with a
/// letter, with at least two digits and three letters.
fn mpesa_code_at(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && chars[i - 1].is_alphanumeric() {
        return None;
    }
    let code = chars.get(i..i + MPESA_CODE_LEN)?;
    let after_ok = chars.get(i + MPESA_CODE_LEN).is_none_or(|c| !c.is_alphanumeric());
    let ascii = code.iter().all(char::is_ascii_alphanumeric);
    let digits = code.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = MPESA_CODE_LEN - digits;
    (after_ok && ascii && code[0].is_ascii_alphabetic() && digits >= 2 && letters >= 3)
        .then_some(MPESA_CODE_LEN)
}

/// Reads a number starting at `i`: digits with single separators between
/// them. Nine or more digits are a phone number; otherwise each
/// space-separated group is a number of its own.
fn number_at(chars: &[char], start: usize, out: &mut Tokens) -> usize {
    let mut i = start;
    if chars[i] == '+' {
        i += 1;
    }
    let mut end = i;
    let mut digits = 0;
    let mut groups = 1;
    // `1,500.50` is an amount, never a phone number.
    let mut decimal = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            digits += 1;
            i += 1;
            end = i;
        } else if matches!(c, ' ' | '-' | '.' | ',' | '(' | ')')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            groups += usize::from(c == ' ');
            decimal |= matches!(c, '.' | ',');
            i += 1;
        } else {
            break;
        }
    }
    if PHONE_DIGITS.contains(&digits) && !decimal {
        out.push(PHONE_TOKEN);
    } else {
        for _ in 0..groups {
            // Each group is its own number; `push` would fold repeats.
            out.space();
            out.text.push_str(NUMBER_TOKEN);
            out.last = Some(NUMBER_TOKEN);
        }
    }
    end
}

/// Reads a word of letters (apostrophes inside are dropped), lowercased,
/// without diacritics and with elongation collapsed.
fn word_at(chars: &[char], start: usize, out: &mut Tokens) -> usize {
    let mut i = start;
    let mut letters = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() {
            for l in c.to_lowercase() {
                letters.extend(std::iter::once(l).nfd().filter(|d| !is_combining_mark(*d)));
            }
            i += 1;
        } else if is_combining_mark(c)
            || (matches!(c, '\'' | '’') && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()))
        {
            i += 1;
        } else {
            break;
        }
    }
    out.push_word(&collapse_elongation(&letters));
    i
}

fn collapse_elongation(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut run = 1;
        while chars.get(i + run) == Some(&c) {
            run += 1;
        }
        let keep = match run {
            1 | 2 => run,
            _ if i + run == chars.len() => 1,
            _ => 2,
        };
        out.extend(std::iter::repeat_n(c, keep));
        i += run;
    }
    out
}

fn emoji_token(c: char) -> Option<&'static str> {
    if let Some((token, _)) = EMOJI.iter().find(|(_, set)| set.contains(&c)) {
        return Some(token);
    }
    let cp = u32::from(c);
    let pictograph = matches!(cp,
        0x1F000..=0x1F3FA | 0x1F400..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF);
    pictograph.then_some(EMOJI_TOKEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_swahili_and_sheng_read_one_way() {
        let cases = [
            // English
            ("Hello!!! Do you deliver to Westlands?", "hello do you deliver to westlands"),
            ("I can't find my order :(", "i cant find my order _sad_"),
            ("Goooood morning 😊", "good morning _smile_"),
            ("WHERE IS MY PARCEL???", "where is my parcel"),
            // Swahili
            ("Habari, bei ya unga ni ngapi?", "habari bei ya unga ni ngapi"),
            ("Nataka kuongea na mtu", "nataka kuongea na mtu"),
            ("Asanteeee sana 🙏🙏🙏", "asante sana _pray_"),
            ("Nimetuma pesa, code ni QK12AB34CD", "nimetuma pesa code ni _mpesa_"),
            // Sheng
            ("Niaje msee, mambo vipi?", "niaje msee mambo vipi"),
            ("Sawaaa, poa sana 👍", "sawa poa sana _thumbsup_"),
            ("Form ni gani? Nitumie kwa 0712 345 678", "form ni gani nitumie kwa _phone_"),
            ("Ni ka-2k tu ama?", "ni ka _num_ k tu ama"),
        ];
        for (text, want) in cases {
            assert_eq!(normalize(text), want, "{text}");
        }
    }

    #[test]
    fn unicode_forms_and_diacritics_fold() {
        assert_eq!(normalize("ＨＥＬＬＯ ｗｏｒｌｄ"), "hello world", "full-width");
        assert_eq!(normalize("Café crème, São Paulo"), "cafe creme sao paulo");
        assert_eq!(normalize("𝐛𝐨𝐥𝐝 text"), "bold text", "styled letters");
        assert_eq!(normalize("Cafe\u{301}"), "cafe", "a combining accent");
        assert_eq!(normalize("don’t"), "dont");
        assert_eq!(normalize("  \t\n "), "");
    }

    #[test]
    fn numbers_phones_and_codes_become_tokens() {
        assert_eq!(normalize("+254 712 345 678"), PHONE_TOKEN);
        assert_eq!(normalize("0712345678"), PHONE_TOKEN);
        assert_eq!(normalize("call 254712345678 now"), "call _phone_ now");
        assert_eq!(normalize("2 kg for 1,500.50"), "_num_ kg for _num_");
        assert_eq!(normalize("items 200 300"), "items _num_ _num_");
        assert_eq!(normalize("qk12ab34cd"), MPESA_TOKEN, "typed in lower case");
        assert_eq!(normalize("NLJ7RT61SV."), MPESA_TOKEN);
        assert_eq!(normalize("ABCDEFGHIJ"), "abcdefghij", "no digits: a word");
        assert_eq!(normalize("QK12AB34CDE"), "qk _num_ ab _num_ cde", "eleven characters");
    }

    #[test]
    fn elongation_and_emoji() {
        assert_eq!(collapse_elongation("sawaaa"), "sawa");
        assert_eq!(collapse_elongation("pleeease"), "pleease");
        assert_eq!(collapse_elongation("saa"), "saa", "a real double vowel stays");
        assert_eq!(collapse_elongation("mzee"), "mzee");
        assert_eq!(normalize("😂😂 🔥 ❤️"), "_laugh_ _emoji_ _love_");
        assert_eq!(normalize("ok👍🏽"), "ok _thumbsup_", "a skin tone belongs to its emoji");
        assert_eq!(normalize("1,500,000,000"), NUMBER_TOKEN, "an amount, not a phone");
        assert_eq!(normalize(":done"), "done", "not an emoticon");
    }
}
