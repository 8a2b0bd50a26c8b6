//! The console's markup: page answers (with the Content-Security-Policy that allows form
//! posts to this function only), 303 redirects, the forms (each carries the session's CSRF
//! token and a one-time form key), the sign-in page, and generic tables of rows.
//!
//! Like the status page, every value from the database or the request goes through
//! [`escape`], the markup is well-formed XML, and there is no script, font or outside
//! resource: links and form actions point at this function only.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Session;
use crate::function::FunctionResponse;
use crate::function::status::PATH;
use crate::secret::Secret;
use crate::status::html::{document, escape};

/// The page's Content-Security-Policy: nothing may load (inline styles and `data:` images
/// aside), and forms may post only to this origin.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// An HTML answer: `status`, `page`, no-store, the CSP, no referrer, nosniff.
pub fn response(status: StatusCode, page: String) -> FunctionResponse {
    let mut headers = HeaderMap::new();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    FunctionResponse {
        status,
        headers,
        body: page,
    }
}

/// A 303 to `location` (this function's path, with a query).
pub fn redirect(location: &str) -> FunctionResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    FunctionResponse {
        status: StatusCode::SEE_OTHER,
        headers,
        body: format!("See {location}\n"),
    }
}

/// `response` with a `Set-Cookie`.
pub fn with_cookie(mut response: FunctionResponse, cookie: &str) -> FunctionResponse {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers.append(header::SET_COOKIE, value);
    }
    response
}

/// The sign-in page, with an optional notice (why the operator is here again).
pub fn sign_in_page(notice: Option<&str>) -> String {
    let mut body = String::from("<h1>supacron status</h1>");
    if let Some(notice) = notice {
        let _ = write!(
            body,
            "<p class=\"notice\" role=\"status\">{}</p>",
            escape(notice)
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{PATH}\" class=\"signin panel\">\
         <input type=\"hidden\" name=\"action\" value=\"sign_in\"/>\
         <label for=\"secret\">CRON_SECRET</label>\
         <input type=\"password\" id=\"secret\" name=\"secret\" autocomplete=\"current-password\" required=\"required\"/>\
         <button type=\"submit\">Sign in</button>\
         <p class=\"meta\">Signs this browser in for 12 hours with a cookie that holds no secret. \
         Changing CRON_SECRET signs everyone out.</p></form>"
    );
    document("supacron status: sign in", &body)
}

/// A page saying what went wrong with a request, and the way back.
pub fn problem_page(title: &str, message: &str) -> String {
    document(
        title,
        &format!(
            "<h1>{}</h1><p class=\"notice bad\" role=\"alert\">{}</p><p><a href=\"{PATH}\">Back to the status page</a></p>",
            escape(title),
            escape(message)
        ),
    )
}

/// The forms of one signed-in page: each carries the session's CSRF token, a fresh form key
/// (a form submitted twice acts once) and where to come back to.
pub struct Forms {
    csrf: String,
    back: String,
}

impl Forms {
    /// The forms of a page at `?<back>` (empty: the main page) for `session`.
    pub fn new(session: &Session, secret: &Secret, back: &str) -> Forms {
        Forms {
            csrf: session.csrf_token(secret),
            back: back.to_string(),
        }
    }

    /// The same forms on the page at `?<back>`.
    pub fn for_page(&self, back: &str) -> Forms {
        Forms {
            csrf: self.csrf.clone(),
            back: back.to_string(),
        }
    }

    /// Opens a form posting `action` with `fields` as hidden inputs; close it with `</form>`.
    pub fn open(&self, action: &str, fields: &[(&str, &str)], class: &str) -> String {
        let mut out = format!(
            "<form method=\"post\" action=\"{PATH}\" class=\"act {class}\">\
             <input type=\"hidden\" name=\"action\" value=\"{}\"/>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"/>\
             <input type=\"hidden\" name=\"form_key\" value=\"{}\"/>",
            escape(action),
            escape(&self.csrf),
            Uuid::new_v4()
        );
        if !self.back.is_empty() {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"back\" value=\"{}\"/>",
                escape(&self.back)
            );
        }
        for (name, value) in fields {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
                escape(name),
                escape(value)
            );
        }
        out
    }

    /// A whole form: `action` with `fields`, one button.
    pub fn button(&self, action: &str, fields: &[(&str, &str)], label: &str) -> String {
        format!(
            "{}<button type=\"submit\">{}</button></form>",
            self.open(action, fields, "inline"),
            escape(label)
        )
    }
}

/// A submit button; with `flag`, it also sends `flag=1` (e.g. `all`).
pub fn submit(label: &str, flag: Option<&str>) -> String {
    match flag {
        Some(name) => format!(
            "<button type=\"submit\" name=\"{}\" value=\"1\">{}</button>",
            escape(name),
            escape(label)
        ),
        None => format!("<button type=\"submit\">{}</button>", escape(label)),
    }
}

/// A link to a console page at `?<query>` (already escaped by the caller's values).
pub fn link(query: &str, text: &str) -> String {
    format!("<a href=\"{PATH}?{}\">{}</a>", escape(query), escape(text))
}

/// How a column's values are shown.
#[derive(Clone, Copy)]
pub enum Cell {
    /// As text (wrapping).
    Text,
    /// A number or short word.
    Plain,
    /// A timestamp, as `YYYY-MM-DD HH:MM:SS`.
    Time,
    /// JSON, compact.
    Json,
    /// A patch job id, linked to its history.
    PatchJob,
}

/// One column of a table: the row's key, its heading, how it is shown.
#[derive(Clone, Copy)]
pub struct Column {
    /// Key in the row.
    pub key: &'static str,
    /// Heading.
    pub label: &'static str,
    /// Rendering.
    pub cell: Cell,
}

/// A column.
pub const fn col(key: &'static str, label: &'static str, cell: Cell) -> Column {
    Column { key, label, cell }
}

/// The text of one value.
pub fn value_text(value: Option<&Value>, cell: Cell) -> String {
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => match cell {
            Cell::Time => time_text(s),
            _ => s.clone(),
        },
        Some(other) => match cell {
            Cell::Json => other.to_string(),
            _ => other.to_string().trim_matches('"').to_string(),
        },
    }
}

fn time_text(s: &str) -> String {
    DateTime::parse_from_rfc3339(s)
        .map(|t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| s.to_string())
}

/// Which rows of a table get a check box: the row key holding the id, and a test.
pub type Select<'a> = (&'a str, &'a dyn Fn(&Map<String, Value>) -> bool);

/// A table of `rows`. With `select`, each row whose `select.1` says so gets a checkbox named
/// `id` with the row's `select.0` value (the table then belongs inside a form).
pub fn table(
    columns: &[Column],
    rows: &[Map<String, Value>],
    select: Option<Select<'_>>,
) -> String {
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr>");
    if select.is_some() {
        out.push_str("<th>select</th>");
    }
    for c in columns {
        let class = if matches!(c.cell, Cell::Text | Cell::Json) {
            " class=\"text\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{}</th>", escape(c.label));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        if let Some((key, selectable)) = &select {
            let value = value_text(row.get(*key), Cell::Plain);
            if selectable(row) {
                let _ = write!(
                    out,
                    "<td><input type=\"checkbox\" name=\"id\" value=\"{}\" aria-label=\"select {}\"/></td>",
                    escape(&value),
                    escape(&value)
                );
            } else {
                out.push_str("<td></td>");
            }
        }
        for c in columns {
            let text = value_text(row.get(c.key), c.cell);
            match c.cell {
                Cell::Text | Cell::Json => {
                    let _ = write!(out, "<td class=\"text\">{}</td>", escape(&text));
                }
                Cell::PatchJob if text != "-" => {
                    let _ = write!(
                        out,
                        "<td>{}</td>",
                        link(&format!("view=patch_job&id={text}"), &text)
                    );
                }
                _ => {
                    let _ = write!(out, "<td>{}</td>", escape(&text));
                }
            }
        }
        out.push_str("</tr>");
    }
    if rows.is_empty() {
        let span = columns.len() + usize::from(select.is_some());
        let _ = write!(
            out,
            "<tr><td colspan=\"{span}\" class=\"text\">None.</td></tr>"
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// "page N of M" with links to the neighbours, for a list of `total` rows at `?<query>&page=N`.
pub fn pager(query: &str, page: u32, total: i64, page_size: u32) -> String {
    let pages = ((total.max(0) as u64).div_ceil(u64::from(page_size))).max(1) as u32;
    let mut out = format!(
        "<p class=\"pager\">{total} in all · page {} of {pages}",
        page.min(pages)
    );
    if page > 1 {
        let _ = write!(
            out,
            " · {}",
            link(&format!("{query}&page={}", page - 1), "newer")
        );
    }
    if page < pages {
        let _ = write!(
            out,
            " · {}",
            link(&format!("{query}&page={}", page + 1), "older")
        );
    }
    out.push_str("</p>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_links_its_neighbours_only() {
        let first = pager("view=runs&job=patch", 1, 60, 25);
        assert!(
            first.contains("page 1 of 3") && first.contains("page=2") && !first.contains("newer")
        );
        let last = pager("view=runs&job=patch", 3, 60, 25);
        assert!(last.contains("page=2") && !last.contains("older"));
        assert!(pager("view=held", 1, 0, 25).contains("page 1 of 1"));
    }

    #[test]
    fn values_are_shown_as_text_and_escaped_in_tables() {
        let row: Map<String, Value> = serde_json::from_str(
            r#"{"id": 7, "last_error": "<b>x</b>", "at": "2026-12-03T13:04:23.1+00:00", "counts": {"a": 1}}"#,
        )
        .unwrap();
        let html = table(
            &[
                col("id", "id", Cell::PatchJob),
                col("last_error", "error", Cell::Text),
                col("at", "when", Cell::Time),
                col("counts", "counts", Cell::Json),
            ],
            &[row],
            None,
        );
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>"));
        assert!(html.contains("2026-12-03 13:04:23"));
        assert!(html.contains("view=patch_job&amp;id=7"));
        assert!(html.contains("{&quot;a&quot;:1}"));
    }
}
