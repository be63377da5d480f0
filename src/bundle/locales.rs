//! The languages a bundle writes its reason messages in: which one answers
//! a caller (BCP 47 lookup along ICU4X's locale fallback chains), and
//! amounts of money written for it (ICU4X's decimal formatter, with the
//! currency's minor units from the ISO 4217 table).

use std::{borrow::Cow, sync::Arc};

use icu_decimal::{DecimalFormatter, input::Decimal};
use icu_locale::{
    DataLocale, LanguageIdentifier, Locale, LocaleExpander, fallback::LocaleFallbacker,
};

use super::{memo::Memo, number_format::NumberFormat};
use crate::domain::{Currency, Languages};

/// The locales a bundle declares (`locales` in `bundle.yaml`), in order,
/// and which of them answers a caller who names none.
pub struct Locales {
    declared: Vec<BundleLocale>,
    /// The default, also among `declared`.
    default: BundleLocale,
    /// Which declared locale (an index; `None` for the default) answered
    /// each list of languages asked for so far: walking ICU4X's fallback
    /// chains was about 3,000 instructions of a decision in Japanese, and
    /// callers ask in a handful of languages. Bounded, since callers
    /// choose the keys: past [`MOST_PICKED`] lists the chains are walked.
    picked: Memo<Languages, Option<usize>>,
}

/// The most lists of languages [`Locales::pick`] remembers per bundle.
const MOST_PICKED: usize = 256;

/// One declared locale: every reason message has a template in it.
#[derive(Clone)]
pub struct BundleLocale {
    /// Its position in the declaration: the index of its message templates.
    pub index: usize,
    /// The tag as ICU4X writes it (`ja`, `en-GB`).
    pub tag: Arc<str>,
    /// The tag normalised as the fallback chains spell it.
    key: DataLocale,
    /// The locale's region, or its language's likely one (`JP` for `ja`):
    /// whose currency is written with its symbol.
    region: Option<String>,
    decimal: DecimalFormatter,
    /// The digits and separators `decimal` writes, worked out at load;
    /// `None` when its output is more than that (then `decimal` writes).
    number: Option<NumberFormat>,
    /// How it writes the bundle's merchants' currencies, worked out at
    /// load: writing an amount in one of them looks nothing up in the ISO
    /// table (a linear search by code, and a list of countries, per call).
    formats: Vec<CurrencyFormat>,
}

/// How a locale writes one currency.
#[derive(Clone)]
struct CurrencyFormat {
    currency: Currency,
    exponent: Option<u16>,
    symbol: Option<String>,
}

impl Locales {
    /// `tags` in the order declared, `default` an index into them. The
    /// caller has checked that `tags` has no duplicates.
    pub fn new(tags: &[Locale], default: usize) -> Result<Self, String> {
        let fallbacker = LocaleFallbacker::new().for_config(Default::default());
        let expander = LocaleExpander::new_common();
        let mut declared = Vec::new();
        for (index, tag) in tags.iter().enumerate() {
            let decimal = DecimalFormatter::try_new(tag.into(), Default::default())
                .map_err(|e| format!("`{tag}`: no number formatting data: {e}"))?;
            let mut likely: LanguageIdentifier = tag.id.clone();
            expander.maximize(&mut likely);
            declared.push(BundleLocale {
                index,
                tag: Arc::from(tag.to_string()),
                key: *fallbacker.fallback_for(tag.into()).get(),
                region: likely.region.map(|r| r.as_str().to_owned()),
                number: NumberFormat::probe(&decimal),
                decimal,
                formats: Vec::new(),
            });
        }
        let default = declared
            .get(default)
            .cloned()
            .ok_or_else(|| "no locale is declared".to_owned())?;
        Ok(Self {
            declared,
            default,
            picked: Memo::new(MOST_PICKED),
        })
    }

    /// Works out how every locale writes each of `currencies` (the
    /// bundle's merchants'), once, for [`BundleLocale::money`].
    pub fn prepare(&mut self, currencies: impl IntoIterator<Item = Currency>) {
        let mut currencies: Vec<Currency> = currencies.into_iter().collect();
        currencies.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        currencies.dedup();
        for locale in self.declared.iter_mut().chain([&mut self.default]) {
            locale.formats = currencies
                .iter()
                .map(|&currency| CurrencyFormat {
                    currency,
                    exponent: currency.exponent(),
                    symbol: locale.symbol(currency),
                })
                .collect();
        }
    }

    /// What a bundle that declares no locales has: English alone.
    pub fn english() -> Result<Self, String> {
        Self::new(&[icu_locale::locale!("en")], 0)
    }

    /// Every declared locale, in order.
    pub fn iter(&self) -> impl Iterator<Item = &BundleLocale> {
        self.declared.iter()
    }

    /// The default locale.
    pub fn default_locale(&self) -> &BundleLocale {
        &self.default
    }

    /// The locale that answers `wanted`: for each language in order of
    /// preference, the first declared locale on its fallback chain
    /// (`ja-JP` → `ja`; `en-GB` → `en-001` → `en`); the default when none
    /// has one.
    pub fn pick(&self, wanted: &Languages) -> &BundleLocale {
        if wanted.is_empty() {
            return self.default_locale();
        }
        self.picked
            .with(wanted, || self.walk(wanted), |&index| index)
            .and_then(|i| self.declared.get(i))
            .unwrap_or(&self.default)
    }

    /// What [`Self::pick`] answers, worked out: the index of the first
    /// declared locale on the first wanted language's fallback chain that
    /// has one; `None` for the default.
    fn walk(&self, wanted: &Languages) -> Option<usize> {
        let fallbacker = LocaleFallbacker::new().for_config(Default::default());
        for language in wanted.iter() {
            let mut chain = fallbacker.fallback_for(language.into());
            while !chain.get().is_unknown() {
                if let Some(found) = self.declared.iter().position(|d| &d.key == chain.get()) {
                    return Some(found);
                }
                chain.step();
            }
        }
        None
    }
}

impl BundleLocale {
    /// `minor` units of `currency` as this locale writes the amount:
    /// grouped by ICU4X (`3,000`), with the currency's minor units
    /// (`12.50` for 1250 USD), after its symbol when the currency is the
    /// locale region's own (`¥3,000` in `ja`), else after its code
    /// (`JPY 3,000` in `en`).
    pub fn money(&self, minor: i64, currency: Currency) -> String {
        let mut out = String::new();
        self.write_money(minor, currency, &mut out);
        out
    }

    /// [`Self::money`], appended to `out`: with the digits and separators
    /// worked out at load where there are some, else with ICU4X.
    pub fn write_money(&self, minor: i64, currency: Currency, out: &mut String) {
        let (exponent, symbol) = match self.formats.iter().find(|f| f.currency == currency) {
            Some(f) => (f.exponent, f.symbol.as_deref().map(Cow::Borrowed)),
            None => (currency.exponent(), self.symbol(currency).map(Cow::Owned)),
        };
        let sign = if minor < 0 { "-" } else { "" };
        match symbol {
            Some(symbol) => {
                out.push_str(sign);
                out.push_str(&symbol);
            }
            None => {
                out.push_str(currency.as_str());
                out.push(' ');
                out.push_str(sign);
            }
        }
        let written = self
            .number
            .as_ref()
            .is_some_and(|n| n.write(minor.unsigned_abs(), exponent.unwrap_or(0), out));
        if !written {
            out.push_str(&self.icu_number(minor.unsigned_abs(), exponent));
        }
    }

    /// `minor` moved `exponent` places as ICU4X writes it: the reference
    /// the prepared format reproduces.
    fn icu_number(&self, minor: u64, exponent: Option<u16>) -> String {
        let mut amount = Decimal::from(minor);
        if let Some(exponent) = exponent {
            amount.multiply_pow10(-i16::try_from(exponent).unwrap_or(0));
        }
        self.decimal.format_to_string(&amount)
    }

    /// The currency `code` names: one of the bundle's merchants' without
    /// a look-up in the ISO table, else [`Currency::parse`].
    pub fn currency(&self, code: &str) -> Option<Currency> {
        self.formats
            .iter()
            .find(|f| f.currency.as_str() == code)
            .map(|f| f.currency)
            .or_else(|| Currency::parse(code))
    }

    /// The currency's symbol, when it is the currency of this locale's
    /// region and has one.
    fn symbol(&self, currency: Currency) -> Option<String> {
        let region = self.region.as_deref()?;
        let iso = currency.iso();
        let home = iso.used_by().iter().any(|c| c.to_string() == region);
        let symbol = iso.symbol().symbol;
        (home && symbol != "¤").then_some(symbol)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use icu_locale::Locale;
    use proptest::prelude::*;

    use super::{BundleLocale, Locales};
    use crate::domain::{Currency, Languages};

    fn locales(tags: &[&str]) -> Locales {
        let tags: Vec<Locale> = tags.iter().map(|t| t.parse().unwrap()).collect();
        Locales::new(&tags, 0).unwrap()
    }

    fn pick(l: &Locales, header: &str) -> String {
        let wanted = Languages::accept_language(header).unwrap();
        l.pick(&wanted).tag.to_string()
    }

    #[test]
    fn a_caller_gets_the_first_declared_locale_on_a_fallback_chain() {
        let l = locales(&["en", "ja"]);
        assert_eq!(pick(&l, "ja-JP"), "ja");
        assert_eq!(pick(&l, "en-GB"), "en");
        assert_eq!(pick(&l, "fr, ja;q=0.5"), "ja");
        assert_eq!(pick(&l, "fr"), "en");
        assert_eq!(pick(&l, ""), "en");
        let l = locales(&["ja", "en-GB", "en"]);
        assert_eq!(pick(&l, "en-GB"), "en-GB");
        assert_eq!(pick(&l, "en-US"), "en");
        assert_eq!(pick(&l, "de"), "ja");
        // CLDR parents: Hindi in Latin script falls back to Indian English.
        assert_eq!(pick(&locales(&["ja", "en"]), "hi-Latn-IN"), "en");
    }

    #[test]
    fn a_remembered_pick_is_the_walked_one_and_a_full_memory_still_walks() {
        let l = locales(&["ja", "en-GB", "en"]);
        // Past the memory's bound (256 lists), so later lists are walked
        // each time; every answer, first or repeated, is the walk's.
        let tags: Vec<String> = (1..=300)
            .map(|n| format!("en-{n:03}"))
            .chain(["ja-JP", "en-GB", "en-US", "de", "fr, ja;q=0.5"].map(String::from))
            .collect();
        for _ in 0..2 {
            for tag in &tags {
                let wanted = Languages::accept_language(tag).unwrap();
                let walked = l.walk(&wanted).map_or("default", |i| &*l.declared[i].tag);
                let picked = l.pick(&wanted);
                let expected = if walked == "default" { "ja" } else { walked };
                assert_eq!(&*picked.tag, expected, "{tag}");
            }
        }
        assert_eq!(l.picked.kept(), super::MOST_PICKED);
        assert_eq!(pick(&l, "ja-JP"), "ja");
        assert_eq!(pick(&l, "en-US"), "en");
        assert_eq!(pick(&l, "de"), "ja");
    }

    #[test]
    fn money_is_grouped_with_minor_units_and_the_home_symbol() {
        let l = locales(&["en", "ja", "de"]);
        let money = |i: usize, minor, code| {
            l.iter()
                .nth(i)
                .unwrap()
                .money(minor, Currency::parse(code).unwrap())
        };
        assert_eq!(money(1, 3000, "JPY"), "¥3,000");
        assert_eq!(money(0, 3000, "JPY"), "JPY 3,000");
        assert_eq!(money(0, 123_450, "USD"), "$1,234.50");
        assert_eq!(money(1, 1250, "USD"), "USD 12.50");
        assert_eq!(money(2, 123_450, "EUR"), "€1.234,50");
        assert_eq!(money(1, -500, "JPY"), "-¥500");
        assert_eq!(money(1, 7, "XAU"), "XAU 7");
    }

    /// What `money` wrote when ICU4X wrote every amount.
    fn money_by_icu(l: &BundleLocale, minor: i64, currency: Currency) -> String {
        let (exponent, symbol) = match l.formats.iter().find(|f| f.currency == currency) {
            Some(f) => (f.exponent, f.symbol.as_deref().map(Cow::Borrowed)),
            None => (currency.exponent(), l.symbol(currency).map(Cow::Owned)),
        };
        let number = l.icu_number(minor.unsigned_abs(), exponent);
        let sign = if minor < 0 { "-" } else { "" };
        match symbol {
            Some(symbol) => format!("{sign}{symbol}{number}"),
            None => format!("{currency} {sign}{number}"),
        }
    }

    /// Locales with other separators, grouping sizes (`hi`: 12,34,567),
    /// minimum grouping (`es`, `pl`: 1000 but 10 000) and digits (`ar`,
    /// `bn`, `mr`), besides the demo's.
    const TAGS: &[&str] = &[
        "en", "ja", "de", "fr", "es", "pl", "pt", "it", "ru", "sv", "de-CH", "en-IN", "hi", "ar",
        "ar-EG", "bn", "mr", "fa", "zh", "ko", "th", "he", "tr", "nl", "fi", "cs", "en-ZA",
    ];

    /// Currencies with no (JPY), two, three (BHD) and four (CLF) minor
    /// digits, and none (XAU).
    const CODES: &[&str] = &[
        "USD", "JPY", "EUR", "BHD", "CLF", "XAU", "INR", "EGP", "CHF",
    ];

    fn amounts() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            -1_000_000_000i64..1_000_000_000,
            (0u32..19).prop_map(|p| 10i64.pow(p)),
            (0u32..19).prop_map(|p| -(10i64.pow(p)) + 1),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
        ]
    }

    /// Else the property below would compare ICU4X with itself.
    #[test]
    fn every_tested_locale_has_a_prepared_format() {
        let l = locales(TAGS);
        let missing: Vec<&str> = l
            .iter()
            .filter(|l| l.number.is_none())
            .map(|l| &*l.tag)
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn money_is_written_as_icu4x_writes_it(
            minor in amounts(),
            tag in 0..TAGS.len(),
            code in 0..CODES.len(),
            prepared in any::<bool>(),
        ) {
            let mut l = locales(&TAGS[tag..=tag]);
            let currency = Currency::parse(CODES[code]).unwrap();
            if prepared {
                l.prepare([currency]);
            }
            let locale = l.iter().next().unwrap();
            prop_assert_eq!(locale.money(minor, currency), money_by_icu(locale, minor, currency));
        }
    }
}
