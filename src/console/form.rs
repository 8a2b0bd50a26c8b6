//! A posted console form (`application/x-www-form-urlencoded`): its fields, and the checks
//! every action's input gets (ids that are ids, a job that is a job, a form key that is a
//! UUID), each with a message that says what was wrong.

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use uuid::Uuid;

use crate::jobs::catalog::Job;

/// The fields of one form, in order (a field may repeat: ticked checkboxes).
#[derive(Clone, Debug, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// The form in `body` when the request says it is one (else an empty form).
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Form {
        let is_form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Form::default();
        }
        Form {
            fields: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether `name` is on (`1`, `true`, `on`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("1" | "true" | "on"))
    }

    /// The form's one-time key.
    pub fn form_key(&self) -> Result<Uuid, String> {
        self.get("form_key")
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or_else(|| {
                "the form has no valid form_key: reload the page and submit again".into()
            })
    }

    /// The ticked `id`s as integers (patch jobs, schedule ticks).
    pub fn integer_ids(&self) -> Result<Vec<String>, String> {
        self.all("id")
            .map(|id| match id.trim().parse::<i64>() {
                Ok(n) if n > 0 => Ok(n.to_string()),
                _ => Err(format!("{:?} is not a row id", clip(id))),
            })
            .collect()
    }

    /// The ticked `id`s as UUIDs (decisions).
    pub fn uuid_ids(&self) -> Result<Vec<String>, String> {
        self.all("id")
            .map(|id| {
                Uuid::parse_str(id.trim())
                    .map(|u| u.to_string())
                    .map_err(|_| format!("{:?} is not a decision id", clip(id)))
            })
            .collect()
    }

    /// The `job` field, one of supacron's jobs.
    pub fn job(&self) -> Result<Job, String> {
        let name = self.get("job").unwrap_or_default();
        Job::from_name(name).ok_or_else(|| {
            format!(
                "{:?} is not a job; the jobs are {}",
                clip(name),
                Job::ALL.map(Job::name).join(", ")
            )
        })
    }
}

/// At most 40 characters of an input, for an error message.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn form(body: &str) -> Form {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        Form::parse(&headers, body.as_bytes())
    }

    #[test]
    fn fields_are_decoded_and_may_repeat() {
        let f = form("action=requeue_dead_patch_jobs&id=4&id=17&secret=a%2Bb+c");
        assert_eq!(f.get("action"), Some("requeue_dead_patch_jobs"));
        assert_eq!(f.integer_ids().unwrap(), ["4", "17"]);
        assert_eq!(f.get("secret"), Some("a+b c"));
        assert!(
            Form::parse(&HeaderMap::new(), b"action=x")
                .get("action")
                .is_none()
        );
    }

    #[test]
    fn bad_input_names_the_field_at_fault() {
        let f = form("id=4&id=x1&job=teleport&form_key=nope");
        assert_eq!(f.integer_ids().unwrap_err(), "\"x1\" is not a row id");
        assert!(
            f.job()
                .unwrap_err()
                .starts_with("\"teleport\" is not a job")
        );
        assert!(f.form_key().is_err());
        assert!(form("id=-3").integer_ids().is_err());
    }
}
