//! The tokens of CEL text, as far as the bounds need them: no values, no
//! allocation, and nothing refused (the parser reports what is wrong).

/// What a token means for the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    /// A name (or the escaped name of a field).
    Name,
    /// `has`, the one global macro: no call node of its own.
    Has,
    /// A number, string, bytes, `true`, `false` or `null`.
    Literal,
    /// `||`, `&&`: balanced by the parser, and they end a term.
    Logical,
    /// `<`, `<=`, `>`, `>=`, `==`, `!=`, `in`.
    Relation,
    /// `+`, `-`.
    Additive,
    /// `*`, `/`, `%`.
    Multiplicative,
    /// `!`
    Not,
    /// `?`
    Question,
    /// `:`
    Colon,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `(`, `[`, `{`
    Open(u8),
    /// `)`, `]`, `}`
    Close,
    /// Anything else; the parser reports it.
    Other,
}

/// Splits CEL text into tokens, skipping whitespace and comments. Lenient:
/// what it cannot read, the parser reports.
pub(super) struct Lexer<'s> {
    s: &'s [u8],
    i: usize,
}

impl<'s> Lexer<'s> {
    /// The tokens of `source`.
    pub(super) fn new(source: &'s str) -> Self {
        Self {
            s: source.as_bytes(),
            i: 0,
        }
    }
}

impl Lexer<'_> {
    fn at(&self, k: usize) -> u8 {
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    /// Skips a string body after its prefix, the quote at `self.i`.
    fn string(&mut self, raw: bool) {
        let q = self.at(0);
        let triple = self.at(1) == q && self.at(2) == q;
        self.i += if triple { 3 } else { 1 };
        while self.i < self.s.len() {
            let c = self.at(0);
            if c == b'\\' && !raw {
                self.i += 2;
            } else if c == q && (!triple || (self.at(1) == q && self.at(2) == q)) {
                self.i += if triple { 3 } else { 1 };
                return;
            } else if !triple && (c == b'\n' || c == b'\r') {
                return;
            } else {
                self.i += 1;
            }
        }
    }

    /// Skips a number: digits, a fraction, an exponent, `0x`, a `u`.
    fn number(&mut self) {
        loop {
            let c = self.at(0);
            let exponent = self.i.checked_sub(1).and_then(|j| self.s.get(j));
            let more = c.is_ascii_alphanumeric()
                || c == b'_'
                || (c == b'.' && self.at(1).is_ascii_digit())
                || (matches!(c, b'+' | b'-')
                    && matches!(exponent, Some(b'e' | b'E'))
                    && self.at(1).is_ascii_digit());
            if !more {
                return;
            }
            self.i += 1;
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Tok;

    fn next(&mut self) -> Option<Tok> {
        loop {
            let c = self.s.get(self.i).copied()?;
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'/' && self.at(1) == b'/' {
                while self.i < self.s.len() && self.at(0) != b'\n' {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
        let (c, d) = (self.at(0), self.at(1));
        let two = |t| (t, 2);
        let (tok, len) = match c {
            b'\'' | b'"' => {
                self.string(false);
                return Some(Tok::Literal);
            }
            b'0'..=b'9' => {
                self.number();
                return Some(Tok::Literal);
            }
            b'.' if d.is_ascii_digit() => {
                self.i += 1;
                self.number();
                return Some(Tok::Literal);
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = self.i;
                while self.at(0).is_ascii_alphanumeric() || self.at(0) == b'_' {
                    self.i += 1;
                }
                let word = self.s.get(start..self.i).unwrap_or_default();
                let prefix = matches!(
                    word,
                    b"r" | b"R" | b"b" | b"B" | b"br" | b"bR" | b"Br" | b"BR"
                );
                if prefix && matches!(self.at(0), b'\'' | b'"') {
                    self.string(word.contains(&b'r') || word.contains(&b'R'));
                    return Some(Tok::Literal);
                }
                return Some(match word {
                    b"in" => Tok::Relation,
                    b"true" | b"false" | b"null" => Tok::Literal,
                    b"has" => Tok::Has,
                    _ => Tok::Name,
                });
            }
            b'`' => {
                self.i += 1;
                while self.i < self.s.len() && self.at(0) != b'`' {
                    self.i += 1;
                }
                (Tok::Name, 1)
            }
            b'|' if d == b'|' => two(Tok::Logical),
            b'&' if d == b'&' => two(Tok::Logical),
            b'=' if d == b'=' => two(Tok::Relation),
            b'!' | b'<' | b'>' if d == b'=' => two(Tok::Relation),
            b'<' | b'>' => (Tok::Relation, 1),
            b'+' | b'-' => (Tok::Additive, 1),
            b'*' | b'/' | b'%' => (Tok::Multiplicative, 1),
            b'!' => (Tok::Not, 1),
            b'?' => (Tok::Question, 1),
            b':' => (Tok::Colon, 1),
            b',' => (Tok::Comma, 1),
            b'.' => (Tok::Dot, 1),
            b'(' | b'[' | b'{' => (Tok::Open(c), 1),
            b')' | b']' | b'}' => (Tok::Close, 1),
            _ => (Tok::Other, 1),
        };
        self.i += len;
        Some(tok)
    }
}
