//! Mnemonic codes (助记码): the pinyin initials people type for a name, as they read it
//! aloud. A character with several readings (多音字) is read as the phrase it stands in
//! says (重庆 is `cq`, 银行 is `yh`, 厦门 is `xm`), else by its most common reading; that
//! is the code a record shows. Search also finds the codes of the other plausible
//! readings, at most [`MAX_CODES`] per name, so whoever reads 重庆 as `zq` still finds it.
//!
//! Used by customers, and by every record with a mnemonic code added later (products).

use pinyin::{ToPinyin, ToPinyinMulti};

/// The most codes one name is indexed under (its own, and other readings').
pub const MAX_CODES: usize = 8;

/// Phrases whose characters are read otherwise than their most common reading, with the
/// initials they are read with: place names, and words common in company names.
const PHRASES: &[(&str, &str)] = &[
    // Places.
    ("重庆", "cq"),
    ("长沙", "cs"),
    ("长春", "cc"),
    ("长治", "cz"),
    ("长安", "ca"),
    ("长宁", "cn"),
    ("长乐", "cl"),
    ("长兴", "cx"),
    ("长寿", "cs"),
    ("长江", "cj"),
    ("长城", "cc"),
    ("厦门", "xm"),
    ("蚌埠", "bb"),
    ("六安", "la"),
    ("乐山", "ls"),
    ("乐清", "yq"),
    ("乐亭", "lt"),
    ("单县", "sx"),
    ("朝阳", "cy"),
    ("成都", "cd"),
    ("首都", "sd"),
    ("都江堰", "djy"),
    ("西藏", "xz"),
    ("番禺", "py"),
    ("莘县", "sx"),
    ("洪洞", "hd"),
    ("铅山", "ys"),
    ("东阿", "de"),
    ("大城", "dc"),
    ("曾都", "zd"),
    ("台州", "tz"),
    ("天台", "tt"),
    ("尉氏", "ws"),
    ("巢湖", "ch"),
    // Words in company names.
    ("银行", "yh"),
    ("分行", "fh"),
    ("支行", "zh"),
    ("总行", "zh"),
    ("商行", "sh"),
    ("车行", "ch"),
    ("琴行", "qh"),
    ("投行", "th"),
    ("行业", "hy"),
    ("行情", "hq"),
    ("发行", "fx"),
    ("音乐", "yy"),
    ("乐器", "yq"),
    ("乐团", "yt"),
    ("快乐", "kl"),
    ("娱乐", "yl"),
    ("会计", "kj"),
    ("调查", "dc"),
    ("调研", "dy"),
    ("重工", "zg"),
    ("重型", "zx"),
    ("重机", "zj"),
    ("重装", "zz"),
    ("大厦", "ds"),
    ("广厦", "gs"),
    ("宝藏", "bz"),
    ("储藏", "cc"),
    ("冷藏", "lc"),
    ("茶行", "ch"),
    ("参数", "cs"),
    ("人参", "rs"),
    ("传记", "zj"),
    ("传动", "cd"),
    ("传媒", "cm"),
    ("便利", "bl"),
    ("朝鲜", "cx"),
];

/// The letter a character or symbol stands for when it is not Chinese: letters and digits
/// as they are (full-width ones made half-width), lower-case; nothing for the rest.
fn plain_letter(c: char) -> Option<char> {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)?,
        _ => c,
    };
    c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
}

/// The initials a character may be read with, its most common reading first.
fn readings(c: char) -> Vec<char> {
    let mut letters: Vec<char> = Vec::new();
    if let Some(multi) = c.to_pinyin_multi() {
        for reading in multi {
            if let Some(letter) = reading.first_letter().chars().next()
                && !letters.contains(&letter)
            {
                letters.push(letter);
            }
        }
    } else if let Some(p) = c.to_pinyin() {
        letters.extend(p.first_letter().chars().next());
    } else {
        letters.extend(plain_letter(c));
    }
    letters
}

/// For each character that has a letter, the letters it may be read with here, the
/// likeliest first: a phrase's reading where the name holds a known phrase (longest
/// first), else the character's most common reading.
fn choices(name: &str) -> Vec<Vec<char>> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let phrase = PHRASES
            .iter()
            .filter(|(text, _)| {
                let text: Vec<char> = text.chars().collect();
                chars[i..].starts_with(&text)
            })
            .max_by_key(|(text, _)| text.chars().count());
        match phrase {
            Some((text, initials)) => {
                for (c, read) in text.chars().zip(initials.chars()) {
                    let mut letters = vec![read];
                    letters.extend(readings(c).into_iter().filter(|l| *l != read));
                    out.push(letters);
                }
                i += text.chars().count();
            }
            None => {
                let letters = readings(chars[i]);
                if !letters.is_empty() {
                    out.push(letters);
                }
                i += 1;
            }
        }
    }
    out
}

/// The mnemonic code a record shows: the initials of the likeliest reading.
/// `北京小米科技` → `bjxmkj`, `重庆` → `cq`.
pub fn mnemonic_code(name: &str) -> String {
    choices(name).iter().filter_map(|letters| letters.first()).collect()
}

/// Every code a name is found under, the shown one first, at most [`MAX_CODES`]: the
/// likeliest reading, then readings that change one character, then two, and so on,
/// earlier characters first.
pub fn mnemonic_codes(name: &str) -> Vec<String> {
    let choices = choices(name);
    let first: Vec<char> = choices.iter().map(|letters| letters[0]).collect();
    let mut codes = vec![first.iter().collect::<String>()];
    let polyphonic: Vec<usize> = (0..choices.len()).filter(|&i| choices[i].len() > 1).collect();
    // Variants by how many characters read otherwise, fewest first.
    let mut frontier: Vec<(Vec<char>, usize)> = vec![(first, 0)];
    while codes.len() < MAX_CODES && !frontier.is_empty() {
        let mut next = Vec::new();
        for (code, from) in &frontier {
            for &position in polyphonic.iter().filter(|&&p| p >= *from) {
                for &letter in &choices[position][1..] {
                    let mut variant = code.clone();
                    variant[position] = letter;
                    let text: String = variant.iter().collect();
                    if codes.len() < MAX_CODES && !codes.contains(&text) {
                        codes.push(text);
                    }
                    next.push((variant, position + 1));
                }
            }
        }
        frontier = next;
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_get_the_initials_people_read_them_with() {
        // (name, the code shown) for company and place names with polyphonic characters.
        let cases = [
            ("重庆长安汽车股份有限公司", "cqcaqcgfyxgs"),
            ("长沙中联重科股份有限公司", "cszlzkgfyxgs"),
            ("招商银行股份有限公司", "zsyhgfyxgs"),
            ("中国建设银行重庆分行", "zgjsyhcqfh"),
            ("厦门航空有限公司", "xmhkyxgs"),
            ("蚌埠市第一人民医院", "bbsdyrmyy"),
            ("六安市瓜片茶叶有限公司", "lasgpcyyxgs"),
            ("乐山乐清音乐器材商行", "lsyqyyqcsh"),
            ("长春一汽", "ccyq"),
            ("成都天府软件园", "cdtfrjy"),
            ("单县会计师事务所", "sxkjssws"),
            ("西藏高原物流", "xzgywl"),
            ("北京小米科技有限责任公司", "bjxmkjyxzrgs"),
            ("ABC 贸易", "abcmy"),
            ("ＡＢ１２", "ab12"),
        ];
        for (name, code) in cases {
            assert_eq!(mnemonic_code(name), code, "{name}");
        }
    }

    #[test]
    fn other_plausible_readings_are_found_too_and_bounded() {
        let codes = mnemonic_codes("重庆");
        assert_eq!(codes[0], "cq");
        assert!(codes.contains(&"zq".to_owned()), "{codes:?}");
        let codes = mnemonic_codes("招商银行");
        assert_eq!(codes[0], "zsyh");
        assert!(codes.contains(&"zsyx".to_owned()), "{codes:?}");
        // Many polyphonic characters: still at most MAX_CODES, the shown one first.
        let name = "长乐重行朝都调藏长乐重行";
        let codes = mnemonic_codes(name);
        assert!(codes.len() <= MAX_CODES && codes.len() > 1, "{codes:?}");
        assert_eq!(codes[0], mnemonic_code(name));
        // A name without polyphonic characters has one code.
        assert_eq!(mnemonic_codes("北京小米"), ["bjxm"]);
    }
}
