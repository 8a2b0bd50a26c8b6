//! The query string (reference §3): decoding, the parsed syntax tree, and the split of parameters
//! into `select` / `order` / `limit` / filters / logic trees (and RPC arguments for GET calls).

mod ast;
pub(crate) mod cursor;
pub(crate) mod filter;
pub(crate) mod select;

pub(crate) use ast::*;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::error::{ApiError, ApiResult};

/// How non-reserved parameters are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every other key is a filter.
    Filters,
    /// GET/HEAD on `/rpc/fn`: a value that does not parse as a filter is a function argument.
    RpcGet,
}

/// The parsed query string.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams {
    pub select: Vec<SelectItem>,
    pub columns: Option<Vec<String>>,
    pub on_conflict: Option<Vec<String>>,
    pub order: Vec<OrderTerm>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub filters: Vec<Filter>,
    pub trees: Vec<Logic>,
    pub rpc_args: Vec<(String, String)>,
}

impl QueryParams {
    /// Classifies and parses every decoded `key=value` pair.
    pub fn parse(pairs: &[(String, String)], mode: Mode) -> ApiResult<QueryParams> {
        let mut q = QueryParams {
            select: vec![SelectItem::Star],
            ..QueryParams::default()
        };
        for (key, value) in pairs {
            match key.as_str() {
                "select" => q.select = select::parse_select(value)?,
                "columns" => q.columns = Some(select::parse_columns("columns parameter", value)?),
                "on_conflict" => q.on_conflict = Some(select::parse_columns("on_conflict", value)?),
                "order" => q.order = select::parse_order(value)?,
                "limit" => {
                    if let Ok(n) = value.trim().parse::<i64>() {
                        if n < 0 {
                            return Err(ApiError::new(
                                416,
                                "PGRST103",
                                "Requested range not satisfiable",
                            )
                            .details("Limit should be greater than or equal to zero."));
                        }
                        q.limit = Some(n);
                    }
                }
                "offset" => {
                    if let Ok(n) = value.trim().parse::<i64>() {
                        q.offset = Some(n.max(0));
                    }
                }
                "or" | "and" | "not.or" | "not.and" => {
                    q.trees.push(filter::parse_logic_tree(key, value)?)
                }
                _ => q.add_filter(key, value, mode)?,
            }
        }
        Ok(q)
    }

    fn add_filter(&mut self, key: &str, value: &str, mode: Mode) -> ApiResult<()> {
        let mut c = cursor::Cursor::new("filter", key);
        let field = match c.field() {
            Ok(f) if c.eof() => Some(f),
            Ok(f) if c.peek() == Some('.') => return Err(not_embedded(&f.name)),
            _ => None,
        };
        match (field, filter::parse_filter_value(value), mode) {
            (Some(field), Ok((negated, operation)), _) => {
                self.filters.push(Filter {
                    field,
                    negated,
                    operation,
                });
                Ok(())
            }
            (_, _, Mode::RpcGet) => {
                self.rpc_args.push((key.to_string(), value.to_string()));
                Ok(())
            }
            (None, _, Mode::Filters) => Err(c.unexpected("end of input")),
            (Some(_), Err(e), Mode::Filters) => Err(e),
        }
    }
}

/// PGRST108 for `child.col=…` style keys (embedding is not supported, so nothing is embedded).
fn not_embedded(name: &str) -> ApiError {
    ApiError::new(
        400,
        "PGRST108",
        format!("'{name}' is not an embedded resource in this request"),
    )
    .hint(format!(
        "Verify that '{name}' is included in the 'select' query parameter."
    ))
}

/// Longest query string accepted (bytes, as sent): a longer one is a 400 before anything is
/// parsed. Generous for PostgREST clients (long `in.(…)` lists), far below what could
/// exhaust memory or time.
pub(crate) const MAX_QUERY_BYTES: usize = 16 * 1024;

/// PGRST100 for a query string over [`MAX_QUERY_BYTES`], `None` for one within it.
pub(crate) fn query_too_long(raw: &str) -> Option<ApiError> {
    if raw.len() <= MAX_QUERY_BYTES {
        return None;
    }
    Some(
        ApiError::new(
            400,
            "PGRST100",
            format!(
                "query string too long: {} bytes (at most {MAX_QUERY_BYTES})",
                raw.len()
            ),
        )
        .hint("Send long argument lists to /rpc functions in a POST body instead."),
    )
}

/// Splits a raw query string into decoded pairs (`+` is a space; keys without `=` are ignored).
pub(crate) fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((decode(k), decode(v)))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes everything outside `[A-Za-z0-9-_.~]`.
pub(crate) fn encode(s: &str) -> String {
    utf8_percent_encode(s, QUERY_ENCODE).to_string()
}

/// PostgREST's canonical query string (sorted keys, repeated keys merged), for `Content-Location`.
pub(crate) fn canonical(pairs: &[(String, String)]) -> String {
    let mut merged: Vec<(String, String)> = Vec::new();
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in sorted {
        match merged.last_mut() {
            Some((lk, lv)) if lk == k => {
                lv.push(',');
                lv.push_str(v);
            }
            _ => merged.push((k.clone(), v.clone())),
        }
    }
    merged
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let pairs = decode_query("name=eq.a+b&x=eq.%2B1&flag");
        assert_eq!(
            pairs,
            vec![
                ("name".into(), "eq.a b".into()),
                ("x".into(), "eq.+1".into())
            ]
        );
    }

    #[test]
    fn rpc_get_splits_arguments_from_filters() {
        let pairs = decode_query("id=5&id=gt.2&name=John");
        let q = QueryParams::parse(&pairs, Mode::RpcGet).unwrap();
        assert_eq!(
            q.rpc_args,
            vec![("id".into(), "5".into()), ("name".into(), "John".into())]
        );
        assert_eq!(q.filters.len(), 1);
        assert!(QueryParams::parse(&pairs, Mode::Filters).is_err());
    }

    #[test]
    fn canonical_sorts_and_merges() {
        let pairs = decode_query("b=eq.1&a=eq.1&a=lt.3");
        assert_eq!(canonical(&pairs), "a=eq.1%2Clt.3&b=eq.1");
    }

    #[test]
    fn embedded_filters_are_refused() {
        let e = QueryParams::parse(&decode_query("clients.id=eq.1"), Mode::Filters).unwrap_err();
        assert_eq!(e.code, "PGRST108");
    }
}
