//! Money: integer minor units with an ISO 4217 currency, never floating point.

use std::fmt;

/// An ISO 4217 currency code: three ASCII upper-case letters, one of the
/// `iso_currency` crate's table, held as that table's entry so that its
/// code and minor unit are read without searching the table again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an ISO 4217 code (`JPY`, `USD`, ...), checked against the
    /// `iso_currency` crate's table: `ABC` is three letters but no currency.
    pub fn parse(s: &str) -> Option<Self> {
        let iso = iso_currency::Currency::from_code(s)?;
        // The table's codes are upper case; say so rather than rely on it.
        s.bytes()
            .all(|b| b.is_ascii_uppercase())
            .then_some(Self(iso))
    }

    /// The number of digits after the decimal point of its minor unit
    /// (JPY 0, USD 2), from the ISO 4217 table; `None` for codes without
    /// one (XAU, XDR).
    pub fn exponent(&self) -> Option<u16> {
        self.0.exponent()
    }

    /// The code as text.
    pub fn as_str(&self) -> &'static str {
        self.0.code()
    }

    /// The currency's entry in the ISO 4217 table.
    pub fn iso(&self) -> iso_currency::Currency {
        self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A positive amount of money in minor units (JPY: yen, USD: cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    currency: Currency,
    minor: i64,
}

impl Money {
    /// An amount; `None` unless `minor > 0`.
    pub fn new(currency: Currency, minor: i64) -> Option<Self> {
        (minor > 0).then_some(Self { currency, minor })
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The currency code as text.
    pub fn currency_code(&self) -> &str {
        self.currency.as_str()
    }

    /// The amount in minor units, always > 0.
    pub fn minor(&self) -> i64 {
        self.minor
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.minor, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::Currency;

    #[test]
    fn only_codes_in_the_iso_4217_table_are_currencies() {
        for code in ["JPY", "USD", "EUR", "XAU"] {
            assert!(Currency::parse(code).is_some(), "{code}");
        }
        for code in ["ABC", "XYZ", "jpy", "JP", "JPYY", ""] {
            assert!(Currency::parse(code).is_none(), "{code}");
        }
        let minor = |code| Currency::parse(code).and_then(|c| c.exponent());
        assert_eq!(
            (minor("JPY"), minor("USD"), minor("XAU")),
            (Some(0), Some(2), None)
        );
    }
}
