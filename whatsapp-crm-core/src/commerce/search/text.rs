//! Text as search sees it: folded words and their translations.

/// Words that mean the same thing in Swahili and English, as shops in East
/// Africa label and customers ask for them.
const TRANSLATIONS: &[(&str, &str)] = &[
    ("unga", "flour"),
    ("ngano", "wheat"),
    ("mahindi", "maize"),
    ("sukari", "sugar"),
    ("chumvi", "salt"),
    ("mchele", "rice"),
    ("maziwa", "milk"),
    ("mafuta", "oil"),
    ("chai", "tea"),
    ("kahawa", "coffee"),
    ("mkate", "bread"),
    ("sabuni", "soap"),
    ("maji", "water"),
    ("mayai", "eggs"),
    ("yai", "egg"),
    ("nyama", "meat"),
    ("kuku", "chicken"),
    ("samaki", "fish"),
    ("ndizi", "bananas"),
    ("nyanya", "tomatoes"),
    ("vitunguu", "onions"),
    ("viazi", "potatoes"),
    ("maharagwe", "beans"),
    ("dengu", "lentils"),
    ("siagi", "butter"),
    ("asali", "honey"),
    ("juisi", "juice"),
    ("nguo", "clothes"),
    ("viatu", "shoes"),
    ("simu", "phone"),
    ("betri", "battery"),
    ("dawa", "medicine"),
    ("mboga", "vegetables"),
    ("matunda", "fruit"),
    ("embe", "mango"),
    ("machungwa", "oranges"),
    ("nazi", "coconut"),
    ("pilipili", "pepper"),
    ("tangawizi", "ginger"),
    ("kitunguu", "onion"),
];

/// Lower case, accents folded, anything but letters and digits a space.
pub fn normalize(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect()
}

/// The normalised words of `text`.
pub fn words(text: &str) -> Vec<String> {
    normalize(text).split_whitespace().map(str::to_owned).collect()
}

/// The word in the other language, if the table has it.
pub fn translations(word: &str) -> impl Iterator<Item = &'static str> + '_ {
    TRANSLATIONS.iter().filter_map(move |&(sw, en)| {
        if sw == word {
            Some(en)
        } else if en == word {
            Some(sw)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_accents_and_punctuation() {
        assert_eq!(words("Café-Crème, 2kg!"), ["cafe", "creme", "2kg"]);
        assert_eq!(translations("sukari").collect::<Vec<_>>(), ["sugar"]);
        assert_eq!(translations("flour").collect::<Vec<_>>(), ["unga"]);
    }
}
