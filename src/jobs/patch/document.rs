//! Patch documents: parsing `{"conversation": P, "character": P}` and applying each part.
//!
//! Each part `P` is either an RFC 7396 merge patch (a JSON object) or an RFC 6902 JSON
//! Patch (an array of operations); either part may be absent. Both RFCs are implemented by
//! the `json-patch` crate. A JSON Patch is all-or-nothing (a failing operation undoes the
//! earlier ones), and the result of applying any part must be a JSON object. Every error
//! here is permanent: the same document can never apply, so the job is marked `dead`
//! with the error's text as `last_error`.

use serde_json::Value;

/// One part of a document.
#[derive(Clone, Debug, PartialEq)]
pub enum PartPatch {
    /// RFC 7396 merge patch.
    Merge(Value),
    /// RFC 6902 JSON Patch.
    Json(json_patch::Patch),
}

/// A parsed patch document.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchDocument {
    /// Patch of the conversation's state.
    pub conversation: Option<PartPatch>,
    /// Patch of the character's state.
    pub character: Option<PartPatch>,
}

/// Why a document can never apply (the text becomes the job's `last_error`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);

impl PatchDocument {
    /// Parses a job's `patch` column.
    pub fn parse(document: &Value) -> Result<PatchDocument, PatchError> {
        let Value::Object(parts) = document else {
            return Err(PatchError(format!(
                "malformed patch document: expected an object with `conversation` and/or `character`, got {}",
                type_name(document)
            )));
        };
        if let Some(unknown) = parts
            .keys()
            .find(|k| *k != "conversation" && *k != "character")
        {
            return Err(PatchError(format!(
                "malformed patch document: unknown key `{unknown}` (allowed: `conversation`, `character`)"
            )));
        }
        Ok(PatchDocument {
            conversation: parts
                .get("conversation")
                .map(|p| parse_part("conversation", p))
                .transpose()?,
            character: parts
                .get("character")
                .map(|p| parse_part("character", p))
                .transpose()?,
        })
    }
}

fn parse_part(name: &str, part: &Value) -> Result<PartPatch, PatchError> {
    match part {
        Value::Object(_) => Ok(PartPatch::Merge(part.clone())),
        Value::Array(_) => serde_json::from_value(part.clone())
            .map(PartPatch::Json)
            .map_err(|e| {
                PatchError(format!(
                    "malformed patch document: `{name}` is not a valid RFC 6902 JSON Patch: {e}"
                ))
            }),
        other => Err(PatchError(format!(
            "malformed patch document: `{name}` must be an object (RFC 7396 merge patch) or an array \
             (RFC 6902 JSON Patch), got {}",
            type_name(other)
        ))),
    }
}

/// Applies `part` to a copy of `state` and returns the new state, which must be an object.
pub fn apply_part(name: &str, state: &Value, part: &PartPatch) -> Result<Value, PatchError> {
    let mut next = state.clone();
    match part {
        PartPatch::Merge(merge) => json_patch::merge(&mut next, merge),
        PartPatch::Json(operations) => json_patch::patch(&mut next, operations)
            .map_err(|e| PatchError(format!("`{name}` JSON Patch does not apply: {e}")))?,
    }
    if !next.is_object() {
        return Err(PatchError(format!(
            "`{name}` patch would make the state {}, but a state must stay a JSON object",
            type_name(&next)
        )));
    }
    Ok(next)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn apply(state: Value, part: Value) -> Result<Value, PatchError> {
        let doc = PatchDocument::parse(&json!({ "conversation": part }))?;
        apply_part("conversation", &state, doc.conversation.as_ref().unwrap())
    }

    #[test]
    fn merge_patches_follow_rfc_7396() {
        let next = apply(
            json!({"a": 1, "b": {"c": 2, "d": 3}}),
            json!({"a": null, "b": {"c": 9}, "e": [1]}),
        )
        .unwrap();
        assert_eq!(next, json!({"b": {"c": 9, "d": 3}, "e": [1]}));
    }

    #[test]
    fn json_patches_follow_rfc_6902_and_are_all_or_nothing() {
        let ops = json!([{"op": "add", "path": "/log/-", "value": 7}, {"op": "replace", "path": "/n", "value": 2}]);
        assert_eq!(
            apply(json!({"log": [], "n": 1}), ops).unwrap(),
            json!({"log": [7], "n": 2})
        );
        let failing = json!([{"op": "add", "path": "/x", "value": 1}, {"op": "test", "path": "/n", "value": 5}]);
        let err = apply(json!({"n": 1}), failing).unwrap_err();
        assert!(
            err.0.contains("does not apply") && err.0.contains("did not match"),
            "{err}"
        );
        let missing = json!([{"op": "remove", "path": "/nope"}]);
        assert!(apply(json!({}), missing).unwrap_err().0.contains("/nope"));
    }

    #[test]
    fn results_must_stay_objects() {
        let err = apply(
            json!({}),
            json!([{"op": "replace", "path": "", "value": [1]}]),
        )
        .unwrap_err();
        assert!(err.0.contains("must stay a JSON object"), "{err}");
    }

    #[test]
    fn malformed_documents_are_named_precisely() {
        let cases = [
            (json!(42), "got a number"),
            (
                json!({"conversation": 42}),
                "`conversation` must be an object",
            ),
            (json!({"character": "x"}), "`character` must be an object"),
            (
                json!({"conversation": [{"op": "jump"}]}),
                "not a valid RFC 6902",
            ),
            (json!({"conversaton": {}}), "unknown key `conversaton`"),
        ];
        for (doc, expected) in cases {
            let err = PatchDocument::parse(&doc).unwrap_err();
            assert!(err.0.contains(expected), "{doc}: {err}");
        }
        assert_eq!(
            PatchDocument::parse(&json!({})).unwrap(),
            PatchDocument {
                conversation: None,
                character: None
            }
        );
    }
}
