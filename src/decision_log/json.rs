//! The decision log's JSON writer: fields written straight into the line's
//! reused buffer (no `serde_json::Value`, no `String` per field), strings
//! escaped exactly as `serde_json` escapes them, and `--decision-log-erase`
//! applied while writing (an erased field is never written at all).

use jiff::{Timestamp, fmt::temporal::DateTimePrinter};

use super::mask::ErasePath;

/// The most erased paths a log may have: which of them still match the
/// current path is one bit each.
pub const MAX_ERASED: usize = 64;

/// Writes one JSON value into a byte buffer, member by member.
pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Whether the next member or element needs a comma first.
    comma: bool,
    erase: &'a [ErasePath],
    /// Bit `i`: `erase[i]` matches the path written so far.
    live: u64,
    /// How many members deep the current path is, counted from where
    /// [`Self::erasing`] started.
    depth: usize,
}

impl<'a> JsonWriter<'a> {
    /// A writer appending to `out`; `erase` applies inside [`Self::erasing`].
    pub fn new(out: &'a mut Vec<u8>, erase: &'a [ErasePath]) -> Self {
        Self {
            out,
            comma: false,
            erase,
            live: 0,
            depth: 0,
        }
    }

    /// Writes `f`'s value with the erase paths applied from its top level.
    pub fn erasing(&mut self, f: impl FnOnce(&mut Self)) {
        let saved = (self.live, self.depth);
        let n = self.erase.len().min(MAX_ERASED);
        self.live = if n == MAX_ERASED {
            u64::MAX
        } else {
            (1u64 << n) - 1
        };
        self.depth = 0;
        f(self);
        (self.live, self.depth) = saved;
    }

    fn separate(&mut self) {
        if self.comma {
            self.out.push(b',');
        }
    }

    /// An object: `f` writes its members.
    pub fn object(&mut self, f: impl FnOnce(&mut Self)) {
        self.separate();
        self.out.push(b'{');
        self.comma = false;
        f(self);
        self.out.push(b'}');
        self.comma = true;
    }

    /// An array: `f` writes its elements (each a value).
    pub fn array(&mut self, f: impl FnOnce(&mut Self)) {
        self.separate();
        self.out.push(b'[');
        self.comma = false;
        f(self);
        self.out.push(b']');
        self.comma = true;
    }

    /// A member named by a message field (`tenantId`): an erase path
    /// names it in either spelling (`tenantId`, `tenant_id`). Field names
    /// are identifiers of this crate's own: written without escaping.
    pub fn field(&mut self, name: &'static str, f: impl FnOnce(&mut Self)) {
        self.member(name, true, f);
    }

    /// A member written only when `present`: proto3 JSON leaves out a field
    /// that holds its default (an empty string or list, 0, `false`, an
    /// unset message), and so does the log.
    pub fn field_if(&mut self, present: bool, name: &'static str, f: impl FnOnce(&mut Self)) {
        if present {
            self.member(name, true, f);
        }
    }

    /// A member named by a map key (`attributes.email`): matched exactly.
    pub fn entry(&mut self, key: &str, f: impl FnOnce(&mut Self)) {
        self.member(key, false, f);
    }

    fn member(&mut self, name: &str, is_field: bool, f: impl FnOnce(&mut Self)) {
        let mut child = 0u64;
        if self.live != 0 {
            for (i, path) in self.erase.iter().enumerate().take(MAX_ERASED) {
                let bit = 1u64 << i;
                if self.live & bit == 0 {
                    continue;
                }
                let Some(segment) = path.segments().get(self.depth) else {
                    continue;
                };
                if !names_match(segment, name, is_field) {
                    continue;
                }
                if path.segments().len() == self.depth + 1 {
                    return;
                }
                child |= bit;
            }
        }
        self.separate();
        if is_field {
            debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            self.out.push(b'"');
            self.out.extend_from_slice(name.as_bytes());
            self.out.extend_from_slice(b"\":");
        } else {
            self.raw_str(name);
            self.out.push(b':');
        }
        self.comma = false;
        let saved = (self.live, self.depth);
        (self.live, self.depth) = (child, self.depth + 1);
        f(self);
        (self.live, self.depth) = saved;
        self.comma = true;
    }

    fn value(&mut self, bytes: &[u8]) {
        self.separate();
        self.out.extend_from_slice(bytes);
        self.comma = true;
    }

    /// A string, escaped.
    pub fn str(&mut self, s: &str) {
        self.separate();
        self.raw_str(s);
        self.comma = true;
    }

    fn raw_str(&mut self, s: &str) {
        escape_into(self.out, s);
    }

    /// A string of bytes that need no escaping (hex digits).
    pub fn ascii(&mut self, text: &[u8]) {
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(text);
        self.out.push(b'"');
        self.comma = true;
    }

    /// A proto enum value by its full name: `prefix` and `name` joined by
    /// `_` (`VERDICT_ALLOW`). Both are identifiers: nothing to escape.
    pub fn enum_value(&mut self, prefix: &str, name: &str) {
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(prefix.as_bytes());
        self.out.push(b'_');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'"');
        self.comma = true;
    }

    /// An unsigned integer as a JSON number.
    pub fn u64(&mut self, n: u64) {
        let mut buf = itoa::Buffer::new();
        let text = buf.format(n);
        self.value(text.as_bytes());
    }

    /// A proto `int64`: a string of decimal digits, as the proto3 JSON
    /// mapping writes it (a JSON number loses precision past 2^53 in many
    /// readers).
    pub fn int64(&mut self, n: i64) {
        let mut buf = itoa::Buffer::new();
        let text = buf.format(n);
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(text.as_bytes());
        self.out.push(b'"');
        self.comma = true;
    }

    /// A proto `double`: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`
    /// as the proto3 JSON mapping spells them.
    pub fn f64(&mut self, x: f64) {
        if x.is_finite() {
            self.separate();
            // Formats as serde_json does; writing to a `Vec` cannot fail.
            if serde_json::to_writer(&mut *self.out, &x).is_err() {
                self.out.extend_from_slice(b"null");
            }
            self.comma = true;
        } else if x.is_nan() {
            self.str("NaN");
        } else if x > 0.0 {
            self.str("Infinity");
        } else {
            self.str("-Infinity");
        }
    }

    /// `true` or `false`.
    pub fn bool(&mut self, b: bool) {
        self.value(if b { b"true" } else { b"false" });
    }

    /// `null`.
    pub fn null(&mut self) {
        self.value(b"null");
    }

    /// An instant in RFC 3339 (`2026-03-10T09:00:00Z`), as the proto3 JSON
    /// mapping writes a `google.protobuf.Timestamp`.
    pub fn timestamp(&mut self, t: Timestamp) {
        self.separate();
        self.out.push(b'"');
        // What `Display` writes, without the formatting machinery. Writing
        // to a `Vec` cannot fail.
        let _ = DateTimePrinter::new().print_timestamp(&t, &mut *self.out);
        self.out.push(b'"');
        self.comma = true;
    }

    /// Bytes that already are one JSON value (a pre-encoded object).
    pub fn raw(&mut self, json: &[u8]) {
        self.value(json);
    }
}

/// Whether an erase path's `segment` names the member `name`: a field in
/// either spelling (`time_zone` or `timeZone`), a map key exactly.
fn names_match(segment: &str, name: &str, is_field: bool) -> bool {
    if segment == name {
        return true;
    }
    if !is_field {
        return false;
    }
    let mut a = segment.bytes().filter(|&b| b != b'_');
    let mut b = name.bytes().filter(|&b| b != b'_');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}

/// Appends `s` as a JSON string, escaped byte for byte as `serde_json`
/// escapes it: `"` and `\` with a backslash, the control characters
/// `\b \f \n \r \t` by name and the others as `\u00XX`; everything else
/// (non-ASCII included) as it is. Runs of eight bytes that need no escape
/// (nearly all of a log line: ids, plan names, keys) are skipped as one
/// word and copied with the rest of their run.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes
            .get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            && !any_needs_escape(u64::from_le_bytes(word))
        {
            i += 8;
            continue;
        }
        let b = bytes.get(i).copied().unwrap_or_default();
        i += 1;
        let named: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i - 1).unwrap_or_default());
        start = i;
        if named.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.push(HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
        } else {
            out.extend_from_slice(named);
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Whether any of the eight bytes of `x` is `"`, `\` or a control
/// character (below 0x20). Never false when one is; bytes from 0x80 up
/// (UTF-8 beyond ASCII) never count.
const fn any_needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const fn any_zero(v: u64) -> bool {
        v.wrapping_sub(ONES) & !v & HIGH != 0
    }
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
    below_space || any_zero(x ^ (ONES * b'"' as u64)) || any_zero(x ^ (ONES * b'\\' as u64))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn written(erase: &[&str], f: impl FnOnce(&mut JsonWriter<'_>)) -> String {
        let paths: Vec<ErasePath> = erase
            .iter()
            .filter_map(|p| ErasePath::parse(p).ok())
            .collect();
        let mut out = Vec::new();
        let mut w = JsonWriter::new(&mut out, &paths);
        w.erasing(f);
        String::from_utf8(out).unwrap_or_default()
    }

    proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in any::<String>()) {
            let mut ours = Vec::new();
            escape_into(&mut ours, &s);
            prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
        }

        /// Runs long enough for the eight-byte skip, with an escape at
        /// any offset inside or after a word.
        #[test]
        fn runs_with_sparse_escapes_are_escaped_as_serde_json_escapes_them(
            s in "([a-zA-Z0-9_\u{e9}\u{3042}\u{1f600}-]{0,20}[\x00-\x1f\"\\\\]?){0,6}"
        ) {
            let mut ours = Vec::new();
            escape_into(&mut ours, &s);
            prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
        }

        #[test]
        fn control_characters_quotes_and_non_ascii_round_trip(
            s in "[\\x00-\\x1f\"\\\\\u{7f}\u{e9}\u{3042}\u{1f600}a-z]{0,40}"
        ) {
            let text = written(&[], |w| w.object(|w| w.entry(&s, |w| w.str(&s))));
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.get(&s).and_then(|v| v.as_str()), Some(s.as_str()));
        }

        #[test]
        fn instants_are_written_as_display_writes_them(
            seconds in -377_705_116_800i64..=253_402_207_200,
            nanos in 0i32..1_000_000_000,
        ) {
            let t = Timestamp::new(seconds, nanos).unwrap_or(Timestamp::UNIX_EPOCH);
            prop_assert_eq!(written(&[], |w| w.timestamp(t)), format!("\"{t}\""));
        }

        #[test]
        fn doubles_are_written_as_serde_json_writes_them(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            let text = written(&[], |w| w.f64(x));
            prop_assert_eq!(text, serde_json::to_string(&x).unwrap());
        }
    }

    #[test]
    fn numbers_enums_and_nesting() {
        let t: Timestamp = "2026-03-10T09:00:00Z".parse().unwrap();
        let text = written(&[], |w| {
            w.object(|w| {
                w.field("a", |w| w.array(|w| (0..3).for_each(|n| w.u64(n))));
                w.field("b", |w| w.int64(-5));
                w.field("c", |w| w.enum_value("VERDICT", "ALLOW"));
                w.field("d", |w| w.timestamp(t));
                w.field("e", |w| w.object(|_| {}));
                w.field("f", |w| w.f64(f64::NAN));
                w.field("g", |w| w.null());
                w.field("h", |w| w.raw(br#"{"x":1}"#));
                w.field("i", |w| w.bool(true));
            });
        });
        assert_eq!(
            text,
            r#"{"a":[0,1,2],"b":"-5","c":"VERDICT_ALLOW","d":"2026-03-10T09:00:00Z","e":{},"f":"NaN","g":null,"h":{"x":1},"i":true}"#
        );
    }

    #[test]
    fn erase_paths_name_fields_in_either_spelling_and_cross_arrays() {
        let text = written(
            &[
                "input.attributes.email",
                "input.methods.type",
                "input.time_zone",
            ],
            |w| {
                w.object(|w| {
                    w.field("timeZone", |w| w.str("UTC"));
                    w.field("attributes", |w| {
                        w.object(|w| {
                            w.entry("email", |w| w.str("a@b"));
                            w.entry("plan", |w| w.str("x"));
                        });
                    });
                    w.field("methods", |w| {
                        w.array(|w| {
                            for id in ["1", "2"] {
                                w.object(|w| {
                                    w.field("id", |w| w.str(id));
                                    w.field("type", |w| w.str("CARD"));
                                });
                            }
                        });
                    });
                });
            },
        );
        assert_eq!(
            text,
            r#"{"attributes":{"plan":"x"},"methods":[{"id":"1"},{"id":"2"}]}"#
        );
    }

    #[test]
    fn a_map_key_is_matched_exactly() {
        let text = written(&["input.attributes.email_address"], |w| {
            w.object(|w| {
                w.field("attributes", |w| {
                    w.object(|w| w.entry("emailAddress", |w| w.str("kept")));
                });
            });
        });
        assert_eq!(text, r#"{"attributes":{"emailAddress":"kept"}}"#);
    }
}
