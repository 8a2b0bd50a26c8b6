//! A browser-like client of the status console over HTTP: it keeps the session cookie, sends
//! `Accept: text/html`, does not follow redirects (tests look at the 303), and submits a form
//! of the page with exactly the fields the page put in it, as a browser would.

use reqwest::header::{HeaderMap, SET_COOKIE};

use crate::support::function_process::{FunctionProcess, STATUS};

pub const SECRET: &str = "console-secret-0123456789";

/// An answer: status, headers, body text.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    /// The `Set-Cookie` header (there is at most one).
    pub fn set_cookie(&self) -> Option<String> {
        self.headers
            .get(SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// The `Location` header.
    pub fn location(&self) -> String {
        self.headers["location"].to_str().unwrap().to_string()
    }

    /// The fields a browser would post for the form whose `action` is `action` (the first
    /// such form when `nth` is 0): its hidden inputs, plus `extra`.
    pub fn form(&self, action: &str, nth: usize, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let xml = self
            .text
            .strip_prefix("<!DOCTYPE html>\n")
            .expect("an HTML page");
        let doc = roxmltree::Document::parse(xml).expect("well-formed page");
        let form = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "form")
            .filter(|form| {
                form.descendants().any(|i| {
                    i.attribute("name") == Some("action") && i.attribute("value") == Some(action)
                })
            })
            .nth(nth)
            .unwrap_or_else(|| panic!("no form #{nth} for {action} in the page"));
        assert_eq!(form.attribute("method"), Some("post"));
        assert_eq!(form.attribute("action"), Some("/api/cron/status"));
        let mut fields: Vec<(String, String)> = form
            .descendants()
            .filter(|i| i.tag_name().name() == "input" && i.attribute("type") == Some("hidden"))
            .map(|i| {
                (
                    i.attribute("name").unwrap().to_string(),
                    i.attribute("value").unwrap_or_default().to_string(),
                )
            })
            .collect();
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        fields
    }
}

/// A browser with (maybe) a session cookie.
pub struct Browser {
    pub url: String,
    client: reqwest::Client,
    /// The session cookie's `name=value`.
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(url: &str) -> Browser {
        Browser {
            url: url.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let builder = builder.header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        match &self.cookie {
            Some(cookie) => builder.header("cookie", cookie),
            None => builder,
        }
    }

    async fn send(builder: reqwest::RequestBuilder) -> Page {
        let response = builder.send().await.expect("the status function answers");
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    /// GET `?<query>` (empty: the main page).
    pub async fn get(&self, query: &str) -> Page {
        let url = if query.is_empty() {
            self.url.clone()
        } else {
            format!("{}?{query}", self.url)
        };
        Self::send(self.request(self.client.get(url))).await
    }

    /// POSTs `fields` as a form.
    pub async fn post<K: AsRef<str>, V: AsRef<str>>(&self, fields: &[(K, V)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
            .finish();
        let builder = self
            .client
            .post(&self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        Self::send(self.request(builder)).await
    }

    /// Signs in with `secret`; keeps the cookie when one is set.
    pub async fn sign_in(&mut self, secret: &str) -> Page {
        let page = self
            .post(&[("action", "sign_in"), ("secret", secret)])
            .await;
        if let Some(set) = page.set_cookie() {
            self.cookie = Some(set.split(';').next().unwrap().to_string());
        }
        page
    }

    /// Follows a 303 as a browser would: GET its location.
    pub async fn follow(&self, page: &Page) -> Page {
        assert_eq!(page.status, 303, "{}", page.text);
        let location = page.location();
        let query = location
            .strip_prefix("/api/cron/status")
            .unwrap_or_else(|| panic!("redirected away: {location}"))
            .trim_start_matches('?');
        self.get(query).await
    }
}

/// The status function for `env`'s database, with `CRON_SECRET` = [`SECRET`].
pub fn status_function(env: &testkit::TestEnv) -> FunctionProcess {
    let url = env.rest_url();
    let vars = [
        ("CRON_SECRET", SECRET),
        ("SUPABASE_URL", url.as_str()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
        ("SUPACRON_LLM_PROVIDER", "offline"),
    ];
    FunctionProcess::start(STATUS.1, STATUS.0, &vars)
}
