//! Sentiment, for handoff and routing: VADER's compound score in [−1, 1]
//! (Hutto and Gilbert, 2014), through the `vader_sentiment` crate.
//!
//! VADER is English: its lexicon rates English words, emoji and emoticons,
//! and reads capitals, `!` and negation. Swahili and Sheng are best effort:
//! a short table of strong words is read as their English meaning first
//! (`mbaya` as bad, `asante` as thanks, `wezi` as thieves). Anything else
//! in Swahili scores neutral.

use std::sync::LazyLock;

use vader_sentiment::SentimentIntensityAnalyzer;

static ANALYZER: LazyLock<SentimentIntensityAnalyzer<'static>> =
    LazyLock::new(SentimentIntensityAnalyzer::new);

/// Swahili and Sheng words with a clear feeling, and an English word VADER
/// rates the same way.
const BRIDGE: &[(&str, &str)] = &[
    ("asante", "thanks"),
    ("asanteni", "thanks"),
    ("shukran", "thanks"),
    ("nzuri", "good"),
    ("mzuri", "good"),
    ("vizuri", "good"),
    ("safi", "great"),
    ("poa", "cool"),
    ("fiti", "fine"),
    ("bomba", "awesome"),
    ("furaha", "happy"),
    ("nimefurahi", "happy"),
    ("napenda", "love"),
    ("nimependa", "love"),
    ("mbaya", "bad"),
    ("vibaya", "bad"),
    ("hovyo", "terrible"),
    ("ovyo", "terrible"),
    ("hasira", "angry"),
    ("nimekasirika", "angry"),
    ("nimekasirishwa", "angry"),
    ("nimechoka", "fed up"),
    ("ujinga", "stupid"),
    ("mjinga", "stupid"),
    ("upuuzi", "stupid"),
    ("wezi", "thieves"),
    ("mwizi", "thief"),
    ("wizi", "theft"),
    ("uongo", "lies"),
    ("mwongo", "liar"),
    ("aibu", "shame"),
    ("sipendi", "dislike"),
    ("matapeli", "fraud"),
    ("tapeli", "fraud"),
];

/// Replaces the table's words, keeping punctuation and capitals (VADER
/// reads both).
fn bridge(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, token) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let start = token.find(char::is_alphabetic).unwrap_or(token.len());
        // The end of the last letter, on a character boundary.
        let end = token
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_alphabetic())
            .map_or(start, |(i, c)| i + c.len_utf8())
            .max(start);
        let word = &token[start..end];
        let lower = word.to_lowercase();
        match BRIDGE.iter().find(|(sw, _)| *sw == lower) {
            Some((_, en)) => {
                out.push_str(&token[..start]);
                let shouting = word.len() > 1 && word.chars().all(|c| !c.is_lowercase());
                out.push_str(&if shouting { en.to_uppercase() } else { (*en).to_owned() });
                out.push_str(&token[end..]);
            }
            None => out.push_str(token),
        }
    }
    out
}

/// VADER's compound score of `text`: −1 (most negative) to 1.
pub fn sentiment(text: &str) -> f64 {
    let scores = ANALYZER.polarity_scores(&bridge(text));
    scores.get("compound").copied().unwrap_or(0.0).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_text_scores_without_panicking() {
        for text in [
            "\u{10c6e8}\u{2d01b}",
            "𭀛𭀛 mbaya𭀛",
            "ñandú MBAYÁ!!",
            "😡😡😡",
            "a\u{301}\u{301}",
            "مرحبا بك",
            "",
            " ",
            "\u{0}\u{7f}",
            "İstanbul ǅ",
        ] {
            let s = sentiment(text);
            assert!((-1.0..=1.0).contains(&s), "{text:?}: {s}");
        }
    }

    #[test]
    fn english_first_swahili_best_effort() {
        assert!(sentiment("I love this shop, thank you!") > 0.5);
        assert!(sentiment("This is the worst service ever, I am so angry") < -0.7);
        assert!(sentiment("not good at all :(") < -0.5);
        assert!(sentiment("Do you deliver to Westlands?").abs() < 0.05);
        assert!(sentiment("Huduma mbaya sana, nyinyi ni wezi!") < -0.5);
        assert!(sentiment("Asante sana, mzuri!") > 0.5);
        assert!(sentiment("Nataka kuongea na mtu").abs() < 0.05, "neutral by VADER's cut");
        assert!(sentiment("MBAYA!!!") < sentiment("mbaya"), "capitals and ! count");
        assert_eq!(bridge("(MBAYA!) hovyo"), "(BAD!) terrible");
    }
}
