//! Cleaning what a model answers: reasoning blocks, code fences, and the JSON inside.
//!
//! Reasoning models (MiniMax-M2 among them) put their thinking in `<think>…</think>` at the
//! start of the content; models also like to wrap JSON in Markdown fences or add a sentence
//! around it. These pure functions take all of that off, so parsing is strict about the
//! shape of the answer and lenient about its wrapping.

use serde::de::DeserializeOwned;

use super::LlmError;

/// Removes every `<think>…</think>` block (and an unclosed one at the end) and trims.
pub fn strip_think(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<think>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</think>") {
            Some(end) => rest = &rest[start + end + "</think>".len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// The body of a Markdown code fence (```` ```json … ``` ````) if the text is one, else the
/// text itself; trimmed.
pub fn strip_fences(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(after) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let body = match after.find('\n') {
        Some(newline) => &after[newline + 1..],
        None => after,
    };
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// Parses the JSON object in a model's answer: reasoning and fences removed, and if the
/// model wrote words around it, the outermost `{…}`.
pub fn parse_json_object<T: DeserializeOwned>(content: &str) -> Result<T, LlmError> {
    let cleaned = strip_think(content);
    let unfenced = strip_fences(&cleaned);
    let candidate = match (unfenced.find('{'), unfenced.rfind('}')) {
        (Some(start), Some(end)) if start < end => &unfenced[start..=end],
        _ => {
            return Err(LlmError::output(format!(
                "the answer contains no JSON object ({} characters)",
                content.chars().count()
            )));
        }
    };
    serde_json::from_str(candidate).map_err(|e| {
        LlmError::output(format!(
            "the answer's JSON does not have the expected shape: {} (line {}, column {})",
            classify(&e),
            e.line(),
            e.column()
        ))
    })
}

/// serde_json's error category, without echoing the model's text.
fn classify(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "wrong fields or types",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

/// Cuts `text` to at most `max` characters (on a character boundary), marking the cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Answer {
        summary: String,
    }

    #[test]
    fn think_blocks_are_removed_wherever_they_are() {
        assert_eq!(strip_think("<think>plan it</think>\n\nHello"), "Hello");
        assert_eq!(
            strip_think("A <think>x</think>B<think>y</think> C"),
            "A B C"
        );
        assert_eq!(strip_think("Hello <think>never closed"), "Hello");
        assert_eq!(strip_think("no reasoning"), "no reasoning");
    }

    #[test]
    fn fences_are_removed_with_or_without_a_language() {
        assert_eq!(strip_fences("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(strip_fences("```\n{\"a\": 1}\n```\n"), "{\"a\": 1}");
        assert_eq!(strip_fences("{\"a\": 1}"), "{\"a\": 1}");
    }

    #[test]
    fn json_is_found_inside_reasoning_fences_and_chatter() {
        let wrapped = "<think>The user wants JSON.</think>\nSure! Here it is:\n```json\n{\"summary\": \"ok\"}\n```";
        assert_eq!(
            parse_json_object::<Answer>(wrapped).unwrap(),
            Answer {
                summary: "ok".into()
            }
        );
        assert_eq!(
            parse_json_object::<Answer>("Result: {\"summary\": \"s\"} done").unwrap(),
            Answer {
                summary: "s".into()
            }
        );
    }

    #[test]
    fn unusable_answers_are_output_errors_that_do_not_echo_the_text() {
        for bad in [
            "I cannot help with that.",
            "{\"summary\": ",
            "{\"summary\": 42}",
            "<think>{\"summary\": \"hidden\"}</think>",
        ] {
            let error = parse_json_object::<Answer>(bad).unwrap_err();
            assert_eq!(error.class, super::super::LlmErrorClass::Output, "{bad}");
            assert!(!error.message.contains("cannot help"), "{}", error.message);
            assert!(!error.message.contains("hidden"), "{}", error.message);
        }
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("héllo wörld", 5), "héll…");
    }
}
