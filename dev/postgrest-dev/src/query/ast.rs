//! The query-string syntax tree: fields with JSON paths, select items, order terms, filter
//! operations and logic trees.

/// `->` (json) or `->>` (text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrow {
    Json,
    Text,
}

/// A JSON path operand: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonKey {
    Key(String),
    Index(i64),
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonOp {
    pub arrow: Arrow,
    pub key: JsonKey,
}

/// A column with an optional JSON path (`data->a->>b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub name: String,
    pub path: Vec<JsonOp>,
}

impl Field {
    /// The default output name: the last key of the path, else the column name.
    pub fn output_name(&self) -> &str {
        self.path
            .iter()
            .rev()
            .find_map(|op| match &op.key {
                JsonKey::Key(k) => Some(k.as_str()),
                JsonKey::Index(_) => None,
            })
            .unwrap_or(&self.name)
    }
}

/// An item of `select`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectItem {
    Star,
    Field {
        field: Field,
        alias: Option<String>,
        cast: Option<String>,
    },
}

/// An `order` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderTerm {
    pub field: Field,
    pub desc: Option<bool>,
    pub nulls_first: Option<bool>,
}

/// Binary operators that take one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SimpleOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Match,
    Imatch,
    IsDistinct,
    Cs,
    Cd,
    Ov,
    Sl,
    Sr,
    Nxr,
    Nxl,
    Adj,
}

impl SimpleOp {
    pub fn from_name(name: &str) -> Option<SimpleOp> {
        use SimpleOp::*;
        Some(match name {
            "eq" => Eq,
            "neq" => Neq,
            "gt" => Gt,
            "gte" => Gte,
            "lt" => Lt,
            "lte" => Lte,
            "like" => Like,
            "ilike" => Ilike,
            "match" => Match,
            "imatch" => Imatch,
            "isdistinct" => IsDistinct,
            "cs" => Cs,
            "cd" => Cd,
            "ov" => Ov,
            "sl" => Sl,
            "sr" => Sr,
            "nxr" => Nxr,
            "nxl" => Nxl,
            "adj" => Adj,
            _ => return None,
        })
    }

    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        use SimpleOp::*;
        match self {
            Eq => "=",
            Neq => "<>",
            Gt => ">",
            Gte => ">=",
            Lt => "<",
            Lte => "<=",
            Like => "LIKE",
            Ilike => "ILIKE",
            Match => "~",
            Imatch => "~*",
            IsDistinct => "IS DISTINCT FROM",
            Cs => "@>",
            Cd => "<@",
            Ov => "&&",
            Sl => "<<",
            Sr => ">>",
            Nxr => "&<",
            Nxl => "&>",
            Adj => "-|-",
        }
    }

    /// Operators that accept `(any)` / `(all)`.
    pub fn quantifiable(self) -> bool {
        use SimpleOp::*;
        matches!(
            self,
            Eq | Gt | Gte | Lt | Lte | Like | Ilike | Match | Imatch
        )
    }
}

/// Full-text search operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextSearch {
    Fts,
    Plain,
    Phrase,
    Websearch,
}

impl TextSearch {
    pub fn from_name(name: &str) -> Option<TextSearch> {
        Some(match name {
            "fts" => TextSearch::Fts,
            "plfts" => TextSearch::Plain,
            "phfts" => TextSearch::Phrase,
            "wfts" => TextSearch::Websearch,
            _ => return None,
        })
    }

    pub fn function(self) -> &'static str {
        match self {
            TextSearch::Fts => "to_tsquery",
            TextSearch::Plain => "plainto_tsquery",
            TextSearch::Phrase => "phraseto_tsquery",
            TextSearch::Websearch => "websearch_to_tsquery",
        }
    }
}

/// `(any)` / `(all)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quant {
    Any,
    All,
}

/// Values of the `is` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IsValue {
    Null,
    NotNull,
    True,
    False,
    Unknown,
}

impl IsValue {
    pub fn parse(v: &str) -> Option<IsValue> {
        Some(match v.to_ascii_lowercase().as_str() {
            "null" => IsValue::Null,
            "not_null" => IsValue::NotNull,
            "true" => IsValue::True,
            "false" => IsValue::False,
            "unknown" => IsValue::Unknown,
            _ => return None,
        })
    }
}

/// What a filter does with its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    Simple {
        op: SimpleOp,
        quant: Option<Quant>,
        value: String,
    },
    In(Vec<String>),
    Is(IsValue),
    Fts {
        kind: TextSearch,
        lang: Option<String>,
        value: String,
    },
}

/// `field=[not.]operation`
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub field: Field,
    pub negated: bool,
    pub operation: Operation,
}

/// A logic tree node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Logic {
    Tree {
        negated: bool,
        or: bool,
        children: Vec<Logic>,
    },
    Filter(Filter),
}
