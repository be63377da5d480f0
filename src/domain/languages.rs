//! The caller's languages: BCP 47 tags in order of preference, from a
//! request's `locale` field or an HTTP `Accept-Language` list. The tags are
//! parsed by ICU4X; which of a bundle's locales they pick is the bundle's
//! business (`bundle::Locales::pick`).

use icu_locale::Locale;

use super::Violations;

/// The caller's languages, most preferred first; empty when the caller
/// named none (the bundle's default locale then answers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Languages(Vec<Locale>);

/// The most entries of an `Accept-Language` list that are read; browsers
/// send a handful, and the rest cannot change the pick.
const MOST_RANGES: usize = 32;

impl Languages {
    /// The request's `locale` field: one BCP 47 tag (`ja-JP`), or empty for
    /// none. A malformed tag is a violation of `field`.
    pub fn field(bad: &mut Violations, field: &str, tag: &str) -> Self {
        if tag.is_empty() {
            return Self::default();
        }
        match Locale::try_from_str(tag) {
            Ok(locale) => Self(vec![locale]),
            Err(_) => {
                bad.push(
                    field,
                    format!("`{tag}` is not a BCP 47 language tag (like `ja-JP`)"),
                );
                Self::default()
            }
        }
    }

    /// An HTTP `Accept-Language` value (`ja;q=0.9, en;q=0.8`): its ranges
    /// by descending weight (ties in the order written), without `*` and
    /// ranges of weight 0. `None` when it is malformed: a range that is no
    /// BCP 47 tag, a parameter other than `q`, or a weight outside
    /// RFC 9110's `0` to `1` with at most three decimals.
    pub fn accept_language(value: &str) -> Option<Self> {
        let mut ranges = Vec::new();
        for element in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let mut parts = element.split(';').map(str::trim);
            let range = parts.next()?;
            let mut weight = 1000;
            for param in parts {
                let (name, q) = param.split_once('=')?;
                if !name.trim().eq_ignore_ascii_case("q") {
                    return None;
                }
                weight = qvalue(q.trim())?;
            }
            if range == "*" {
                continue;
            }
            let locale = Locale::try_from_str(range).ok()?;
            if weight > 0 && ranges.len() < MOST_RANGES {
                ranges.push((weight, locale));
            }
        }
        // Stable: equal weights keep the order written.
        ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
        Some(Self(ranges.into_iter().map(|(_, l)| l).collect()))
    }

    /// Whether the caller named no language.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The languages, most preferred first.
    pub fn iter(&self) -> impl Iterator<Item = &Locale> {
        self.0.iter()
    }

    /// These languages, or `otherwise` when there are none: a request's own
    /// `locale` field wins over its call's `accept-language` header.
    pub fn or(self, otherwise: &Self) -> Self {
        if self.is_empty() {
            otherwise.clone()
        } else {
            self
        }
    }
}

/// An RFC 9110 `qvalue` in thousandths: `0`, `0.5`, `1`, `1.000`.
fn qvalue(q: &str) -> Option<u16> {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Languages, Violations};

    fn tags(l: &Languages) -> Vec<String> {
        l.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn accept_language_orders_by_weight_and_drops_wildcards_and_zero() {
        let l = Languages::accept_language("en;q=0.8, ja;q=0.9, *;q=0.1, fr;q=0, de").unwrap();
        assert_eq!(tags(&l), ["de", "ja", "en"]);
        let l = Languages::accept_language("ja-JP,en-GB;q=0.5,en;q=0.5").unwrap();
        assert_eq!(tags(&l), ["ja-JP", "en-GB", "en"]);
        assert_eq!(
            Languages::accept_language("").unwrap(),
            Languages::default()
        );
    }

    #[test]
    fn a_malformed_accept_language_is_none() {
        for bad in [
            "ja;q=2",
            "ja;q=0.1234",
            "ja;q=",
            "ja;level=1",
            "ja;q=1.5",
            "not a tag",
            "ja, 12345678901",
        ] {
            assert_eq!(Languages::accept_language(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_locale_field_names_itself_when_malformed() {
        let mut bad = Violations::default();
        assert_eq!(
            tags(&Languages::field(&mut bad, "locale", "ja-JP")),
            ["ja-JP"]
        );
        assert!(Languages::field(&mut bad, "locale", "").is_empty());
        assert!(bad.is_empty());
        assert!(Languages::field(&mut bad, "locale", "ja--JP").is_empty());
        assert_eq!(
            bad.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            ["locale"]
        );
    }
}
