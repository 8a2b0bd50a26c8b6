//! The `select` (reference §3.6), `order` (§3.8) and `columns` / `on_conflict` (§3.10)
//! parameters. Embedding (`rel(...)`, `...rel`) and aggregates are not supported.

use crate::error::ApiError;
use crate::query::cursor::Cursor;
use crate::query::{OrderTerm, SelectItem};

const NO_EMBED: &str =
    "resource embedding, spreads and aggregates are not supported by postgrest-dev";

/// `select=a,alias:b::text,c->>k,*`; empty means `*`.
pub(crate) fn parse_select(input: &str) -> Result<Vec<SelectItem>, ApiError> {
    if input.trim().is_empty() {
        return Ok(vec![SelectItem::Star]);
    }
    let mut c = Cursor::new("select parameter", input);
    let mut items = Vec::new();
    loop {
        c.skip_blanks();
        if c.eat("*") {
            items.push(SelectItem::Star);
        } else {
            if c.starts_with("...") {
                return Err(c.error(NO_EMBED));
            }
            let mut name = c.field_name()?;
            let mut alias = None;
            if c.peek() == Some(':') && c.peek_at(1) != Some(':') {
                c.bump();
                alias = Some(name);
                name = c.field_name()?;
            }
            let path = c.json_path()?;
            let mut cast = None;
            if c.eat("::") {
                cast = Some(cast_type(&mut c)?);
            }
            if matches!(c.peek(), Some('(' | '!')) {
                return Err(c.error(NO_EMBED));
            }
            items.push(SelectItem::Field {
                field: crate::query::Field { name, path },
                alias,
                cast,
            });
        }
        c.skip_blanks();
        if c.eat(",") {
            continue;
        }
        if c.eof() {
            return Ok(items);
        }
        return Err(c.unexpected("\",\" or end of input"));
    }
}

/// A cast target: letters, digits, `_` and spaces, optionally followed by `[]`s. Never quoted,
/// so `int4`, `text` and `timestamp with time zone` work; nothing else can reach the SQL.
fn cast_type(c: &mut Cursor) -> Result<String, ApiError> {
    let mut t = String::new();
    while let Some(ch) = c
        .peek()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '_' || *ch == ' ')
    {
        t.push(ch);
        c.bump();
    }
    while c.eat("[]") {
        t.push_str("[]");
    }
    if t.trim().is_empty() {
        return Err(c.unexpected("type name"));
    }
    Ok(t.trim().to_string())
}

/// `order=a.desc.nullslast,b`
pub(crate) fn parse_order(input: &str) -> Result<Vec<OrderTerm>, ApiError> {
    let mut c = Cursor::new("order", input);
    let mut terms = Vec::new();
    loop {
        c.skip_blanks();
        let field = c.field()?;
        let mut term = OrderTerm {
            field,
            desc: None,
            nulls_first: None,
        };
        for (word, desc) in [(".asc", false), (".desc", true)] {
            if c.starts_with(word) && term_ends(&c, word) {
                c.eat(word);
                term.desc = Some(desc);
            }
        }
        for (word, first) in [(".nullsfirst", true), (".nullslast", false)] {
            if term.nulls_first.is_none() && c.eat(word) {
                term.nulls_first = Some(first);
            }
        }
        terms.push(term);
        if c.eat(",") {
            continue;
        }
        if c.eof() {
            return Ok(terms);
        }
        return Err(c.unexpected("\",\" or end of input"));
    }
}

/// True when `word` at the cursor is a whole token (followed by `.`, `,` or the end).
fn term_ends(c: &Cursor, word: &str) -> bool {
    let after = c.peek_at(word.chars().count());
    matches!(after, None | Some('.' | ','))
}

/// `columns=a,b` / `on_conflict=a,b`: plain field names; empty is an error.
pub(crate) fn parse_columns(what: &str, input: &str) -> Result<Vec<String>, ApiError> {
    let mut c = Cursor::new(what, input);
    let mut cols = Vec::new();
    loop {
        c.skip_blanks();
        cols.push(c.field_name()?);
        c.skip_blanks();
        if c.eat(",") {
            continue;
        }
        if c.eof() {
            return Ok(cols);
        }
        return Err(c.unexpected("\",\" or end of input"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_items() {
        let items = parse_select("id, label:name, n::text, data->>k, *").unwrap();
        assert_eq!(items.len(), 5);
        match &items[1] {
            SelectItem::Field { alias, field, .. } => {
                assert_eq!(alias.as_deref(), Some("label"));
                assert_eq!(field.name, "name");
            }
            _ => panic!(),
        }
        assert!(parse_select("id,clients(*)").is_err());
        assert!(parse_select("n::text);drop").is_err());
    }

    #[test]
    fn order_terms_and_errors() {
        let t = parse_order("a.desc.nullslast,b").unwrap();
        assert_eq!((t[0].desc, t[0].nulls_first), (Some(true), Some(false)));
        let e = parse_order("id.asc.nullslasttt").unwrap_err();
        assert_eq!(
            e.message,
            "\"failed to parse order (id.asc.nullslasttt)\" (line 1, column 17)"
        );
    }

    #[test]
    fn empty_columns_fail() {
        let e = parse_columns("columns parameter", "").unwrap_err();
        assert_eq!(
            e.message,
            "\"failed to parse columns parameter ()\" (line 1, column 1)"
        );
    }
}
