//! The offline memory: an extractive summary, for local demos without an LLM key.
//!
//! Deterministic and clearly labelled: the summary says it is offline, and the row's
//! `model` is `offline`. It quotes the first sentence of the first and last messages and
//! keeps the user's first-person sentences as facts.

use super::prompt::{MemoryDraft, MemoryInput};
use crate::llm::output::truncate_chars;

/// The offline summary of `input`.
pub fn summarise(input: &MemoryInput<'_>) -> MemoryDraft {
    let first = input.messages.first().map(|m| first_sentence(&m.content));
    let last = input.messages.last().map(|m| first_sentence(&m.content));
    let mut summary = format!(
        "[offline summary of {} messages] {} talked with the user. It began: \"{}\"",
        input.messages.len(),
        input.candidate.character_name,
        first.unwrap_or_default()
    );
    if input.messages.len() > 1 {
        summary.push_str(&format!(" It ended: \"{}\"", last.unwrap_or_default()));
    }
    let facts = input
        .messages
        .iter()
        .filter(|m| m.role == "user")
        .map(|m| first_sentence(&m.content))
        .filter(|s| s.starts_with("I ") || s.starts_with("I'") || s.starts_with("My "))
        .take(3)
        .map(|s| format!("The user said: {s}"))
        .collect();
    MemoryDraft { summary, facts }
}

fn first_sentence(text: &str) -> String {
    let text = text.trim();
    let end = text
        .find(['.', '!', '?'])
        .map(|i| i + 1)
        .unwrap_or(text.len());
    truncate_chars(&text[..end], 120)
}

#[cfg(test)]
mod tests {
    use super::super::prompt::{Candidate, Message, select};
    use super::*;

    #[test]
    fn the_offline_summary_is_extractive_labelled_and_deterministic() {
        let candidate = Candidate {
            conversation_id: uuid::Uuid::nil(),
            character_id: uuid::Uuid::nil(),
            character_name: "Ada".into(),
            persona: String::new(),
            memory_cursor: 0,
            new_count: 3,
            previous_summary: None,
            messages: vec![
                Message {
                    id: 1,
                    role: "user".into(),
                    content: "I run a marathon in May. Any tips?".into(),
                },
                Message {
                    id: 2,
                    role: "assistant".into(),
                    content: "Train slowly! Eat well.".into(),
                },
                Message {
                    id: 3,
                    role: "user".into(),
                    content: "Thanks".into(),
                },
            ],
        };
        let input = select(&candidate, 1000).unwrap();
        let draft = summarise(&input);
        assert!(
            draft
                .summary
                .starts_with("[offline summary of 3 messages] Ada"),
            "{}",
            draft.summary
        );
        assert!(draft.summary.contains("\"I run a marathon in May.\""));
        assert!(draft.summary.contains("It ended: \"Thanks\""));
        assert_eq!(
            draft.facts,
            vec!["The user said: I run a marathon in May.".to_string()]
        );
        assert_eq!(summarise(&input), draft);
    }
}
