//! Successful responses: status, `Content-Range` (reference §4.2), content types, profile and
//! preference headers, and the `response.status` / `response.headers` GUC overrides (§10.6).

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};
use serde_json::Value;

use crate::db::Outcome;
use crate::error::{ApiError, ApiResult};
use crate::request::{ApiRequest, Media};

/// A successful response under construction.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `None`: no body and no `Content-Type`.
    pub body: Option<String>,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn opt_header(self, name: &str, value: Option<String>) -> Reply {
        match value {
            Some(v) => self.header(name, v),
            None => self,
        }
    }

    /// A JSON body typed after the negotiated media type.
    pub fn json(mut self, body: String, media: Media) -> Reply {
        let ct = match media {
            Media::Json => "application/json; charset=utf-8",
            Media::Object { .. } => "application/vnd.pgrst.object+json; charset=utf-8",
            Media::Csv => "text/csv; charset=utf-8",
        };
        self.headers.push(("content-type".into(), ct.into()));
        self.body = Some(body);
        self
    }

    /// Applies the SQL-side overrides and the profile header, and builds the response.
    /// HEAD keeps every header but drops the body.
    pub fn finish(
        mut self,
        api: &ApiRequest,
        outcome: Option<&Outcome>,
    ) -> ApiResult<Response<Body>> {
        if let Some(o) = outcome {
            if let Some(status) = &o.response_status {
                self.status = status
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|s| (100..=999).contains(s))
                    .ok_or_else(|| {
                        ApiError::new(
                            500,
                            "PGRST112",
                            "response.status guc must be a valid status code",
                        )
                    })?;
            }
            if let Some(headers) = &o.response_headers {
                for (name, value) in guc_headers(headers)? {
                    self.headers.retain(|(n, _)| {
                        !n.eq_ignore_ascii_case(&name) || name.eq_ignore_ascii_case("set-cookie")
                    });
                    self.headers.push((name, value));
                }
            }
        }
        let has_type = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if api.profile_response && has_type {
            self.headers
                .push(("content-profile".into(), api.schema.clone()));
        }
        let head = api.method == axum::http::Method::HEAD;
        let body = if head { None } else { self.body };
        let body = match body {
            Some(b) => Body::from(b),
            // No size hint, so HEAD responses carry no made-up `Content-Length: 0`.
            None if head => Body::from_stream(futures_util::stream::empty::<
                Result<bytes::Bytes, std::io::Error>,
            >()),
            None => Body::empty(),
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let h = resp.headers_mut();
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::from_str(&value),
            ) {
                h.append(n, v);
            }
        }
        if self.status == 201 && !h.contains_key(header::CONTENT_TYPE) && !head {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        Ok(resp)
    }
}

/// `[{"Name": "value"}, …]` from `response.headers`, or PGRST111.
fn guc_headers(raw: &str) -> ApiResult<Vec<(String, String)>> {
    let invalid = || {
        ApiError::new(
            500,
            "PGRST111",
            "response.headers guc must be a JSON array composed of objects with a single key and a string value",
        )
    };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) else {
        return Err(invalid());
    };
    items
        .iter()
        .map(|item| match item.as_object() {
            Some(o) if o.len() == 1 => {
                let (k, v) = o.iter().next().expect("one entry");
                v.as_str()
                    .map(|v| (k.clone(), v.to_string()))
                    .ok_or_else(invalid)
            }
            _ => Err(invalid()),
        })
        .collect()
}

/// `Content-Range` for `n` rows starting at `first` with an optional total.
pub(crate) fn content_range(first: i64, n: i64, total: Option<i64>) -> String {
    let range = if n > 0 && total != Some(0) {
        format!("{}-{}", first, first + n - 1)
    } else {
        "*".into()
    };
    let total = total.map(|t| t.to_string()).unwrap_or_else(|| "*".into());
    format!("{range}/{total}")
}

/// Read status per PostgREST's `rangeStatusHeader`: 416 past the end, 206 partial, else 200.
pub(crate) fn range_status(first: i64, n: i64, total: Option<i64>) -> ApiResult<u16> {
    let Some(total) = total else { return Ok(200) };
    if first > total {
        return Err(
            ApiError::new(416, "PGRST103", "Requested range not satisfiable")
                .details(format!(
                    "An offset of {first} was requested, but there are only {total} rows."
                ))
                .header("Content-Range", format!("*/{total}")),
        );
    }
    Ok(if n < total { 206 } else { 200 })
}

/// PGRST116 unless exactly one row was produced.
pub(crate) fn check_singular(media: Media, rows: i64) -> ApiResult<()> {
    if matches!(media, Media::Object { .. }) && rows != 1 {
        return Err(ApiError::new(
            406,
            "PGRST116",
            "Cannot coerce the result to a single JSON object",
        )
        .details(format!("The result contains {rows} rows")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(content_range(0, 1, None), "0-0/*");
        assert_eq!(content_range(2, 3, None), "2-4/*");
        assert_eq!(content_range(0, 0, None), "*/*");
        assert_eq!(content_range(0, 0, Some(0)), "*/0");
        assert_eq!(content_range(0, 25, Some(3573)), "0-24/3573");
    }

    #[test]
    fn range_statuses() {
        assert_eq!(range_status(0, 2, Some(5)).unwrap(), 206);
        assert_eq!(range_status(0, 5, Some(5)).unwrap(), 200);
        assert_eq!(range_status(5, 0, Some(5)).unwrap(), 206);
        assert_eq!(range_status(6, 0, Some(5)).unwrap_err().status, 416);
        assert_eq!(range_status(0, 0, Some(0)).unwrap(), 200);
    }
}
