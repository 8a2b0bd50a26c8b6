//! A character cursor shared by the query-string parsers, plus the pieces every grammar uses:
//! field names, JSON path arrows and quoted strings (reference §3.2, §3.6).

use crate::error::ApiError;
use crate::query::{Arrow, Field, JsonKey, JsonOp};

/// Reads one query-string value; errors carry PostgREST's `(line 1, column N)` position.
pub(crate) struct Cursor<'a> {
    chars: Vec<char>,
    pub pos: usize,
    what: &'a str,
    shown: &'a str,
    /// Characters PostgREST parsed before this value (a logic tree's key), for column numbers.
    column_offset: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `input`; `what` names the parameter in errors ("filter", "order", …).
    pub fn new(what: &'a str, input: &'a str) -> Cursor<'a> {
        Cursor {
            chars: input.chars().collect(),
            pos: 0,
            what,
            shown: input,
            column_offset: 0,
        }
    }

    /// Like [`Cursor::new`] but columns count `offset` characters before the value.
    pub fn with_offset(what: &'a str, input: &'a str, offset: usize) -> Cursor<'a> {
        Cursor {
            column_offset: offset,
            ..Cursor::new(what, input)
        }
    }

    pub fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    pub fn eof(&self) -> bool {
        self.pos >= self.chars.len()
    }

    pub fn starts_with(&self, s: &str) -> bool {
        let mut i = self.pos;
        for c in s.chars() {
            if self.chars.get(i) != Some(&c) {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Consumes `s` if the input continues with it.
    pub fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }

    pub fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    /// Everything not consumed yet.
    pub fn rest(&mut self) -> String {
        let s: String = self.chars[self.pos..].iter().collect();
        self.pos = self.chars.len();
        s
    }

    /// Reads characters until one of `stops` (not consumed) or the end.
    pub fn take_until(&mut self, stops: &[char]) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if stops.contains(&c) {
                break;
            }
            s.push(c);
            self.pos += 1;
        }
        s
    }

    /// PGRST100 at the current position.
    pub fn error(&self, details: impl Into<String>) -> ApiError {
        ApiError::parse(
            self.what,
            self.shown,
            self.pos + 1 + self.column_offset,
            details,
        )
    }

    /// PGRST100 `unexpected <found> expecting <expecting>`.
    pub fn unexpected(&self, expecting: &str) -> ApiError {
        let found = match self.peek() {
            Some(c) => format!("{c:?}").replace('\'', "\""),
            None => "end of input".to_string(),
        };
        self.error(format!("unexpected {found} expecting {expecting}"))
    }

    /// A double-quoted string; a backslash escapes the next character.
    pub fn quoted(&mut self) -> Result<String, ApiError> {
        if !self.eat("\"") {
            return Err(self.unexpected("\"\\\"\""));
        }
        let mut s = String::new();
        loop {
            match self.bump() {
                Some('"') => return Ok(s),
                Some('\\') => match self.bump() {
                    Some(c) => s.push(c),
                    None => return Err(self.unexpected("any character")),
                },
                Some(c) => s.push(c),
                None => return Err(self.unexpected("\"\\\"\"")),
            }
        }
    }

    /// A field name: quoted, or letters/digits/`_`/`$`/spaces joined by single `-`.
    pub fn field_name(&mut self) -> Result<String, ApiError> {
        const EXPECTING: &str = "field name (* or [a..z0..9_$])";
        if self.peek() == Some('"') {
            let name = self.quoted()?;
            if name.contains('\0') {
                return Err(self.error("field names cannot contain NUL characters"));
            }
            return Ok(name);
        }
        let mut s = String::new();
        loop {
            while let Some(c) = self.peek().filter(|c| is_name_char(*c)) {
                s.push(c);
                self.pos += 1;
            }
            if self.peek() == Some('-')
                && self.peek_at(1).is_some_and(is_name_char)
                && !s.is_empty()
            {
                s.push('-');
                self.pos += 1;
                continue;
            }
            break;
        }
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(self.unexpected(EXPECTING));
        }
        Ok(trimmed.to_string())
    }

    /// `->key`, `->>key`, `->0`, … chains (possibly none).
    pub fn json_path(&mut self) -> Result<Vec<JsonOp>, ApiError> {
        let mut ops = Vec::new();
        while self.starts_with("->") {
            let arrow = if self.eat("->>") {
                Arrow::Text
            } else {
                self.eat("->");
                Arrow::Json
            };
            ops.push(JsonOp {
                arrow,
                key: self.json_operand()?,
            });
        }
        Ok(ops)
    }

    fn json_operand(&mut self) -> Result<JsonKey, ApiError> {
        if self.peek() == Some('"') {
            return Ok(JsonKey::Key(self.quoted()?));
        }
        let start = self.pos;
        let mut digits = String::new();
        if self.peek() == Some('-') {
            digits.push('-');
            self.pos += 1;
        }
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            digits.push(c);
            self.pos += 1;
        }
        let ends = self.eof()
            || self.starts_with("->")
            || self.starts_with("::")
            || matches!(self.peek(), Some('.' | ',' | ')'));
        if digits.trim_start_matches('-').len() > 0 && ends {
            if let Ok(i) = digits.parse::<i64>() {
                return Ok(JsonKey::Index(i));
            }
        }
        self.pos = start;
        let key = self.take_until(&['(', '-', ':', '.', ',', '>', ')']);
        if key.is_empty() {
            return Err(self.unexpected("json key"));
        }
        Ok(JsonKey::Key(key))
    }

    /// A field with an optional JSON path.
    pub fn field(&mut self) -> Result<Field, ApiError> {
        let name = self.field_name()?;
        let path = self.json_path()?;
        Ok(Field { name, path })
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == ' '
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_arrows() {
        let mut c = Cursor::new("filter", "field-with_sep->a->>0");
        let f = c.field().unwrap();
        assert_eq!(f.name, "field-with_sep");
        assert_eq!(f.path.len(), 2);
        assert!(matches!(f.path[1].key, JsonKey::Index(0)));
        let mut c = Cursor::new("filter", "\"a.b\"");
        assert_eq!(c.field_name().unwrap(), "a.b");
    }
}
