//! How a locale writes the digits of an amount, worked out at load from
//! what ICU4X's decimal formatter writes: on the request path an amount is
//! then digits copied with the locale's separators, without ICU4X's
//! decimal type and its writer. ICU4X stays the reference: a property test
//! in `locales.rs` compares both over many amounts, locales and currencies.

use icu_decimal::{DecimalFormatter, input::Decimal};

/// The most digits an amount's integer part has (`u64::MAX` has 20).
const MAX_DIGITS: usize = 20;

/// A separator in a probe's output: how many digits precede it, and it.
type Separator = (usize, String);

/// A locale's digits and separators, as ICU4X writes them.
#[derive(Debug, Clone)]
pub struct NumberFormat {
    /// The locale's digits, zero to nine.
    digits: [char; 10],
    /// Written between groups of the integer part (`,` in `en`).
    group: String,
    /// Written between the integer part and the fraction (`.` in `en`).
    decimal: String,
    /// For an integer part of `n` digits (at `n - 1`), where the group
    /// separator goes: bit `k` set writes it before the last `k` digits.
    /// Worked out per length, so a locale's grouping sizes and its
    /// minimum grouping (`1000` but `10 000` in Polish) need no model.
    groups: [u32; MAX_DIGITS],
}

impl NumberFormat {
    /// What `formatter` writes, when its output is digits and separators
    /// this type can reproduce; `None` otherwise (the caller then keeps
    /// formatting with ICU4X).
    pub fn probe(formatter: &DecimalFormatter) -> Option<Self> {
        let mut digits = ['0'; 10];
        for (d, slot) in (0u8..).zip(digits.iter_mut()) {
            let text = formatter.format_to_string(&Decimal::from(d));
            let mut chars = text.chars();
            *slot = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
        }
        let mut format = Self {
            digits,
            group: String::new(),
            decimal: String::new(),
            groups: [0; MAX_DIGITS],
        };
        // 1, 10, 100, ...: where each length is grouped, and with what.
        let mut power: u64 = 1;
        for n in 1..=MAX_DIGITS {
            let text = formatter.format_to_string(&Decimal::from(power));
            let (shape, separators) = format.parse(&text)?;
            let expected: Vec<u8> = std::iter::once(1).chain(vec![0; n - 1]).collect();
            if shape != expected {
                return None;
            }
            let slot = format.groups.get_mut(n - 1)?;
            for (right, separator) in separators {
                if format.group.is_empty() {
                    format.group = separator;
                } else if format.group != separator {
                    return None;
                }
                *slot |= 1u32.checked_shl(u32::try_from(n - right).ok()?)?;
            }
            power = power.saturating_mul(10);
        }
        // 0.5: the decimal separator.
        let mut half = Decimal::from(5);
        half.multiply_pow10(-1);
        let text = formatter.format_to_string(&half);
        let zero = text.strip_prefix(format.digits[0])?;
        format.decimal = zero.strip_suffix(format.digits[5])?.to_owned();
        let digitless = !format.decimal.chars().any(|c| format.digits.contains(&c));
        (!format.decimal.is_empty() && digitless).then_some(format)
    }

    /// The digits of `text` and, for each run of other characters between
    /// them, how many digits precede it and the run; `None` when `text`
    /// starts or ends with something other than a digit.
    fn parse(&self, text: &str) -> Option<(Vec<u8>, Vec<Separator>)> {
        let (mut shape, mut separators) = (Vec::new(), Vec::new());
        let mut run = String::new();
        for c in text.chars() {
            match self.digits.iter().position(|&d| d == c) {
                Some(d) => {
                    if !run.is_empty() {
                        if shape.is_empty() {
                            return None;
                        }
                        separators.push((shape.len(), std::mem::take(&mut run)));
                    }
                    shape.push(u8::try_from(d).ok()?);
                }
                None => run.push(c),
            }
        }
        run.is_empty().then_some((shape, separators))
    }

    /// Writes `minor` with `exponent` fraction digits (`1250`, 2: `12.50`)
    /// as ICU4X writes `Decimal::from(minor)` moved `exponent` places;
    /// `false`, writing nothing, for an exponent this type does not
    /// handle (none in ISO 4217).
    pub fn write(&self, minor: u64, exponent: u16, out: &mut String) -> bool {
        let Some(scale) = 10u64.checked_pow(u32::from(exponent)) else {
            return false;
        };
        let (whole, fraction) = (minor / scale, minor % scale);
        let mut buf = itoa::Buffer::new();
        let text = buf.format(whole).as_bytes();
        let Some(&groups) = self.groups.get(text.len().wrapping_sub(1)) else {
            return false;
        };
        for (i, &b) in text.iter().enumerate() {
            let right = text.len() - i;
            if i > 0 && groups & (1 << right) != 0 {
                out.push_str(&self.group);
            }
            out.push(self.digit(b));
        }
        if exponent > 0 {
            out.push_str(&self.decimal);
            let mut buf = itoa::Buffer::new();
            let text = buf.format(fraction).as_bytes();
            for _ in text.len()..usize::from(exponent) {
                out.push(self.digits[0]);
            }
            for &b in text {
                out.push(self.digit(b));
            }
        }
        true
    }

    /// The locale's digit for the ASCII digit `b`.
    fn digit(&self, b: u8) -> char {
        self.digits
            .get(usize::from(b.wrapping_sub(b'0')))
            .copied()
            .unwrap_or(char::from(b))
    }
}
