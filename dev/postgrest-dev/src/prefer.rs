//! The `Prefer` request header (reference §7): parsing, the strict-handling check and the
//! `Preference-Applied` response header.

use axum::http::HeaderMap;

use crate::error::{ApiError, ApiResult};

/// `return=…`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Return {
    Minimal,
    HeadersOnly,
    Representation,
}

/// `resolution=…`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

/// `count=…` (planned and estimated are answered with an exact count here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    Exact,
    Planned,
    Estimated,
}

/// Parsed preferences; for each kind the first occurrence wins.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prefs {
    pub ret: Option<Return>,
    pub resolution: Option<Resolution>,
    pub count: Option<Count>,
    /// `Some(true)` for `missing=default`, `Some(false)` for `missing=null`.
    pub missing_default: Option<bool>,
    pub strict: Option<bool>,
    pub timezone: Option<String>,
    pub max_affected: Option<i64>,
    /// `tx=rollback` (`Some(true)`) or `tx=commit`, only where `db-tx-end` allows overrides.
    pub tx_rollback: Option<bool>,
    allow_tx: bool,
    invalid: Vec<String>,
}

/// Which operation a `Preference-Applied` header is built for (it decides what may appear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Insert { resolution_applies: bool },
    Update,
    Delete,
    Rpc,
}

impl Prefs {
    /// Parses every `Prefer` header (comma-separated tokens, trimmed). `tx=` is a known
    /// preference only when `allow_tx` (`db-tx-end = *-allow-override`), as in PostgREST.
    pub fn parse(headers: &HeaderMap, allow_tx: bool) -> Prefs {
        let mut p = Prefs::default();
        p.allow_tx = allow_tx;
        for value in headers.get_all("prefer") {
            let Ok(value) = value.to_str() else { continue };
            for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                p.add(token);
            }
        }
        p
    }

    fn add(&mut self, token: &str) {
        let (k, v) = token.split_once('=').unwrap_or((token, ""));
        let known = match (k, v) {
            ("return", "minimal") => set(&mut self.ret, Return::Minimal),
            ("return", "headers-only") => set(&mut self.ret, Return::HeadersOnly),
            ("return", "representation") => set(&mut self.ret, Return::Representation),
            ("resolution", "merge-duplicates") => {
                set(&mut self.resolution, Resolution::MergeDuplicates)
            }
            ("resolution", "ignore-duplicates") => {
                set(&mut self.resolution, Resolution::IgnoreDuplicates)
            }
            ("count", "exact") => set(&mut self.count, Count::Exact),
            ("count", "planned") => set(&mut self.count, Count::Planned),
            ("count", "estimated") => set(&mut self.count, Count::Estimated),
            ("missing", "default") => set(&mut self.missing_default, true),
            ("missing", "null") => set(&mut self.missing_default, false),
            ("handling", "strict") => set(&mut self.strict, true),
            ("handling", "lenient") => set(&mut self.strict, false),
            ("timezone", tz) if !tz.is_empty() => set(&mut self.timezone, tz.to_string()),
            ("max-affected", n) => match n.parse::<i64>() {
                Ok(n) => set(&mut self.max_affected, n),
                Err(_) => false,
            },
            ("tx", "commit") if self.allow_tx => set(&mut self.tx_rollback, false),
            ("tx", "rollback") if self.allow_tx => set(&mut self.tx_rollback, true),
            _ => false,
        };
        if !known {
            self.invalid.push(token.to_string());
        }
    }

    /// PGRST122 when `handling=strict` was sent together with unknown preferences.
    pub fn check_strict(&self) -> ApiResult<()> {
        if self.strict == Some(true) && !self.invalid.is_empty() {
            return Err(ApiError::new(
                400,
                "PGRST122",
                "Invalid preferences given with handling=strict",
            )
            .details(format!("Invalid preferences: {}", self.invalid.join(", "))));
        }
        Ok(())
    }

    /// `max-affected` only counts together with `handling=strict`.
    pub fn strict_max_affected(&self) -> Option<i64> {
        if self.strict == Some(true) {
            self.max_affected
        } else {
            None
        }
    }

    /// The `Preference-Applied` value for a successful response, or `None` when nothing applies.
    pub fn applied(&self, op: Op) -> Option<String> {
        let mut out: Vec<String> = Vec::new();
        let writes = !matches!(op, Op::Read | Op::Rpc);
        if let (
            Op::Insert {
                resolution_applies: true,
            },
            Some(r),
        ) = (op, self.resolution)
        {
            out.push(match r {
                Resolution::MergeDuplicates => "resolution=merge-duplicates".into(),
                Resolution::IgnoreDuplicates => "resolution=ignore-duplicates".into(),
            });
        }
        if matches!(op, Op::Insert { .. } | Op::Update) {
            if let Some(m) = self.missing_default {
                out.push(if m {
                    "missing=default".into()
                } else {
                    "missing=null".into()
                });
            }
        }
        if writes {
            if let Some(r) = self.ret {
                out.push(match r {
                    Return::Minimal => "return=minimal".into(),
                    Return::HeadersOnly => "return=headers-only".into(),
                    Return::Representation => "return=representation".into(),
                });
            }
        }
        if let Some(c) = self.count {
            out.push(match c {
                Count::Exact => "count=exact".into(),
                Count::Planned => "count=planned".into(),
                Count::Estimated => "count=estimated".into(),
            });
        }
        if let Some(rollback) = self.tx_rollback {
            out.push(if rollback {
                "tx=rollback".into()
            } else {
                "tx=commit".into()
            });
        }
        if let Some(s) = self.strict {
            out.push(if s {
                "handling=strict".into()
            } else {
                "handling=lenient".into()
            });
        }
        if let Some(tz) = &self.timezone {
            out.push(format!("timezone={tz}"));
        }
        if matches!(op, Op::Update | Op::Delete | Op::Rpc) {
            if let Some(n) = self.strict_max_affected() {
                out.push(format!("max-affected={n}"));
            }
        }
        if out.is_empty() {
            None
        } else {
            Some(out.join(", "))
        }
    }
}

/// Stores the first occurrence of a preference kind; later ones are ignored but still valid.
fn set<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_none() {
        *slot = Some(value);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn prefs(values: &[&str]) -> Prefs {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("prefer", HeaderValue::from_str(v).unwrap());
        }
        Prefs::parse(&h, false)
    }

    #[test]
    fn first_occurrence_wins_and_order_is_fixed() {
        let p = prefs(&[
            "count=exact, return=representation",
            "return=minimal,resolution=merge-duplicates",
        ]);
        assert_eq!(p.ret, Some(Return::Representation));
        assert_eq!(
            p.applied(Op::Insert {
                resolution_applies: true
            })
            .unwrap(),
            "resolution=merge-duplicates, return=representation, count=exact"
        );
        assert_eq!(p.applied(Op::Read).unwrap(), "count=exact");
    }

    #[test]
    fn strict_handling_rejects_unknown_tokens() {
        let p = prefs(&["handling=strict, foo, bar=baz"]);
        let e = p.check_strict().unwrap_err();
        assert_eq!(
            e.details.as_deref(),
            Some("Invalid preferences: foo, bar=baz")
        );
        assert!(prefs(&["foo"]).check_strict().is_ok());
    }
}
