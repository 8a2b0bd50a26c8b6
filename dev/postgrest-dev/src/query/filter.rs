//! Horizontal filters `[not.]op.value` (reference §3.3), `in` lists (§3.4) and logic trees
//! `or=(…)` / `and=(…)` (§3.5).

use crate::error::ApiError;
use crate::query::cursor::Cursor;
use crate::query::{Field, Filter, IsValue, Logic, Operation, Quant, SimpleOp, TextSearch};

const EXPECT_OP: &str = "\"not\" or operator (eq, gt, ...)";

/// Logic trees nest at most this deep (`or=(and(or(…)))`): deeper ones are a 400, not a
/// parser, SQL builder and destructor recursing until the stack overflows (issue #22: ~415
/// nested `or(`/`not.and(` in a 1.7 KB URL aborted the whole server).
pub(crate) const MAX_TREE_DEPTH: usize = 32;

/// Parses a root filter value such as `not.in.(1,2)`; the whole value must be consumed.
pub(crate) fn parse_filter_value(value: &str) -> Result<(bool, Operation), ApiError> {
    let mut c = Cursor::new("filter", value);
    let op = operation(&mut c, false)?;
    if !c.eof() {
        return Err(c.unexpected("end of input"));
    }
    Ok(op)
}

/// Parses the value of a logic-tree key (`or`, `and`, `not.or`, `not.and`).
pub(crate) fn parse_logic_tree(key: &str, value: &str) -> Result<Logic, ApiError> {
    let (negated, or) = match key {
        "or" => (false, true),
        "and" => (false, false),
        "not.or" => (true, true),
        _ => (true, false),
    };
    let mut c = Cursor::with_offset("logic tree", value, key.chars().count());
    let children = tree_items(&mut c, 1)?;
    if !c.eof() {
        return Err(c.unexpected("end of input"));
    }
    Ok(Logic::Tree {
        negated,
        or,
        children,
    })
}

/// `( item , item … )` at nesting `depth` (the key's own tree is 1).
fn tree_items(c: &mut Cursor, depth: usize) -> Result<Vec<Logic>, ApiError> {
    if depth > MAX_TREE_DEPTH {
        return Err(c.error(format!(
            "logic trees nest at most {MAX_TREE_DEPTH} levels deep"
        )));
    }
    c.skip_blanks();
    if !c.eat("(") {
        return Err(c.unexpected("\"(\""));
    }
    let mut items = Vec::new();
    loop {
        c.skip_blanks();
        items.push(tree_item(c, depth)?);
        c.skip_blanks();
        if c.eat(",") {
            continue;
        }
        if c.eat(")") {
            return Ok(items);
        }
        return Err(c.unexpected("\",\" or \")\""));
    }
}

fn tree_item(c: &mut Cursor, depth: usize) -> Result<Logic, ApiError> {
    for (prefix, negated, or) in [
        ("not.and(", true, false),
        ("not.or(", true, true),
        ("and(", false, false),
        ("or(", false, true),
    ] {
        if c.starts_with(prefix) {
            c.eat(&prefix[..prefix.len() - 1]);
            let children = tree_items(c, depth + 1)?;
            return Ok(Logic::Tree {
                negated,
                or,
                children,
            });
        }
    }
    if matches!(c.peek(), Some(')') | None) {
        return Err(c.unexpected(
            "field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)",
        ));
    }
    let field: Field = c.field()?;
    if !c.eat(".") {
        return Err(c.unexpected("\".\""));
    }
    let (negated, operation) = operation(c, true)?;
    Ok(Logic::Filter(Filter {
        field,
        negated,
        operation,
    }))
}

/// `[not.]op[(modifier)].value`
fn operation(c: &mut Cursor, in_tree: bool) -> Result<(bool, Operation), ApiError> {
    let negated = c.eat("not.");
    let start = c.pos;
    let mut name = String::new();
    while let Some(ch) = c.peek().filter(char::is_ascii_lowercase) {
        name.push(ch);
        c.bump();
    }
    let simple = SimpleOp::from_name(&name);
    let fts = TextSearch::from_name(&name);
    let operation = if name == "in" {
        expect_dot(c)?;
        Operation::In(in_list(c)?)
    } else if name == "is" {
        expect_dot(c)?;
        let v = value(c, in_tree)?;
        let is = IsValue::parse(&v).ok_or_else(|| {
            c.error(format!(
                "unexpected {v:?} expecting null, not_null, true, false or unknown"
            ))
        })?;
        Operation::Is(is)
    } else if let Some(kind) = fts {
        let mut lang = None;
        if c.eat("(") {
            lang = Some(c.take_until(&[')']));
            if !c.eat(")") {
                return Err(c.unexpected("\")\""));
            }
        }
        expect_dot(c)?;
        Operation::Fts {
            kind,
            lang,
            value: value(c, in_tree)?,
        }
    } else if let Some(op) = simple {
        let mut quant = None;
        if op.quantifiable() {
            if c.eat("(any)") {
                quant = Some(Quant::Any);
            } else if c.eat("(all)") {
                quant = Some(Quant::All);
            }
        }
        expect_dot(c)?;
        Operation::Simple {
            op,
            quant,
            value: value(c, in_tree)?,
        }
    } else {
        c.pos = start;
        return Err(c.unexpected(EXPECT_OP));
    };
    Ok((negated, operation))
}

fn expect_dot(c: &mut Cursor) -> Result<(), ApiError> {
    if c.eat(".") {
        Ok(())
    } else {
        Err(c.unexpected("\".\""))
    }
}

/// A filter value: the rest of the input at the root; inside trees a quoted string, a `{…}`
/// literal or everything up to the next `,` or `)`.
fn value(c: &mut Cursor, in_tree: bool) -> Result<String, ApiError> {
    if !in_tree {
        return Ok(c.rest());
    }
    match c.peek() {
        Some('"') => c.quoted(),
        Some('{') => {
            let mut s = c.take_until(&['}']);
            if !c.eat("}") {
                return Err(c.unexpected("\"}\""));
            }
            s.push('}');
            Ok(s)
        }
        _ => Ok(c.take_until(&[',', ')'])),
    }
}

/// `(a,"b,c",d)`: items are quoted (backslash escapes) or raw up to `,`/`)`.
fn in_list(c: &mut Cursor) -> Result<Vec<String>, ApiError> {
    c.skip_blanks();
    if !c.eat("(") {
        return Err(c.unexpected("\"(\""));
    }
    c.skip_blanks();
    let mut items = Vec::new();
    if c.eat(")") {
        return Ok(items);
    }
    loop {
        let item = if c.peek() == Some('"') {
            c.quoted()?
        } else {
            c.take_until(&[',', ')'])
        };
        items.push(item);
        if c.eat(",") {
            continue;
        }
        if c.eat(")") {
            return Ok(items);
        }
        return Err(c.unexpected("\",\" or \")\""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_keep_quoted_commas() {
        let (neg, op) = parse_filter_value(r#"not.in.(1,"a,b","q\"x",)"#).unwrap();
        assert!(neg);
        match op {
            Operation::In(items) => assert_eq!(items, vec!["1", "a,b", "q\"x", ""]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_filter_value("in.()").unwrap().1, Operation::In(v) if v.is_empty()));
    }

    #[test]
    fn rejects_values_without_operator() {
        let e = parse_filter_value("0").unwrap_err();
        assert_eq!(
            e.message,
            "\"failed to parse filter (0)\" (line 1, column 1)"
        );
        assert_eq!(
            e.details.as_deref(),
            Some("unexpected \"0\" expecting \"not\" or operator (eq, gt, ...)")
        );
        assert!(parse_filter_value("is.maybe").is_err());
        assert!(matches!(
            parse_filter_value("is.NoT_NuLl").unwrap().1,
            Operation::Is(IsValue::NotNull)
        ));
    }

    #[test]
    fn parses_nested_trees() {
        let t =
            parse_logic_tree("or", "(a.eq.1, and(b.gt.2,c.in.(3,4)), not.or(d.is.null))").unwrap();
        let Logic::Tree {
            or: true, children, ..
        } = t
        else {
            panic!()
        };
        assert_eq!(children.len(), 3);
        let e = parse_logic_tree("or", "()").unwrap_err();
        assert_eq!(
            e.message,
            "\"failed to parse logic tree (())\" (line 1, column 4)"
        );
    }
}
