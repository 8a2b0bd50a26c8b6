//! The memory prompt: which messages go in, what is asked, and how the answer is read.
//!
//! Pure functions. The prompt gives the model the character's persona, the previous
//! summary and the new messages (capped in count by SQL and in characters here; the rest
//! wait for the next run), and asks for JSON: a summary plus durable facts.

use serde::Deserialize;
use uuid::Uuid;

use crate::llm::output::{parse_json_object, truncate_chars};
use crate::llm::{
    ChatMessage, LlmError, MAX_NAME_CHARS, MAX_PERSONA_CHARS, MAX_PREVIOUS_SUMMARY_CHARS,
};

/// Longest summary stored; longer ones are cut.
pub const MAX_SUMMARY_CHARS: usize = 4000;
/// Most facts stored per memory, and the longest fact.
pub const MAX_FACTS: usize = 20;
const MAX_FACT_CHARS: usize = 300;

/// One conversation the memory job picked (a row of `pick_memory_conversations`).
#[derive(Clone, Debug, Deserialize)]
pub struct Candidate {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its character.
    pub character_id: Uuid,
    /// The character's name.
    pub character_name: String,
    /// The character's persona.
    pub persona: String,
    /// The id of the last message already summarised (0: none).
    pub memory_cursor: i64,
    /// New messages since the cursor (all of them, not only those sent).
    pub new_count: i64,
    /// The latest memory's summary, if any.
    pub previous_summary: Option<String>,
    /// The first new messages, in order.
    pub messages: Vec<Message>,
}

/// A chat message.
#[derive(Clone, Debug, Deserialize)]
pub struct Message {
    /// Its id (conversation order).
    pub id: i64,
    /// `user`, `assistant` or `system`.
    pub role: String,
    /// Its text.
    pub content: String,
}

/// What one summarisation covers: the messages that fit, and their id range.
#[derive(Clone, Debug)]
pub struct MemoryInput<'a> {
    /// The conversation.
    pub candidate: &'a Candidate,
    /// The messages in the prompt (at least one).
    pub messages: &'a [Message],
    /// First message id of the range.
    pub from_id: i64,
    /// Last message id of the range: the cursor after commit.
    pub to_id: i64,
}

/// The messages that fit in `max_chars` (always at least the first, which is cut to fit
/// when alone too long). `None` when there are no messages.
pub fn select(candidate: &Candidate, max_chars: usize) -> Option<MemoryInput<'_>> {
    let first = candidate.messages.first()?;
    let mut used = 0;
    let mut count = 0;
    for message in &candidate.messages {
        let len = message.content.chars().count();
        if count > 0 && used + len > max_chars {
            break;
        }
        used += len;
        count += 1;
    }
    let messages = &candidate.messages[..count];
    Some(MemoryInput {
        candidate,
        messages,
        from_id: first.id,
        to_id: messages[count - 1].id,
    })
}

/// The chat messages sent to the model.
pub fn messages(input: &MemoryInput<'_>, max_chars: usize) -> Vec<ChatMessage> {
    let c = input.candidate;
    let system = format!(
        "You keep the long-term memory of {name}, a character in a chat app.\n\
         Persona of {name}: {persona}\n\n\
         Read the new messages of one conversation and answer with only a JSON object, no other text:\n\
         {{\"summary\": \"...\", \"facts\": [\"...\"]}}\n\
         - summary: at most 120 words, third person, what happened and what will matter in later \
         conversations, merged with the previous summary.\n\
         - facts: durable facts about the user (names, preferences, plans, dates), one short sentence \
         each; [] if there are none.",
        name = truncate_chars(&c.character_name, MAX_NAME_CHARS),
        persona = truncate_chars(&c.persona, MAX_PERSONA_CHARS),
    );
    let mut transcript = String::new();
    for message in input.messages {
        transcript.push_str(&format!(
            "[{}] {}\n",
            message.role,
            truncate_chars(&message.content, max_chars)
        ));
    }
    let user = format!(
        "Previous summary:\n{}\n\nNew messages:\n{}",
        c.previous_summary.as_deref().map_or_else(
            || "(none yet)".to_string(),
            |s| truncate_chars(s, MAX_PREVIOUS_SUMMARY_CHARS)
        ),
        transcript
    );
    vec![ChatMessage::system(system), ChatMessage::user(user)]
}

/// A memory to store: the summary and the facts.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct MemoryDraft {
    /// The summary.
    pub summary: String,
    /// Durable facts.
    #[serde(default)]
    pub facts: Vec<String>,
}

/// Reads the model's answer: JSON with a non-empty `summary` and optional string `facts`.
pub fn parse(content: &str) -> Result<MemoryDraft, LlmError> {
    let draft: MemoryDraft = parse_json_object(content)?;
    tidy(draft)
}

/// Trims and caps a draft; an empty summary is an output error.
pub fn tidy(draft: MemoryDraft) -> Result<MemoryDraft, LlmError> {
    let summary = draft.summary.trim();
    if summary.is_empty() {
        return Err(LlmError::output("the answer's summary is empty"));
    }
    Ok(MemoryDraft {
        summary: truncate_chars(summary, MAX_SUMMARY_CHARS),
        facts: draft
            .facts
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .take(MAX_FACTS)
            .map(|f| truncate_chars(f, MAX_FACT_CHARS))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(contents: &[&str]) -> Candidate {
        Candidate {
            conversation_id: Uuid::nil(),
            character_id: Uuid::nil(),
            character_name: "Ada".into(),
            persona: "A cook.".into(),
            memory_cursor: 0,
            new_count: contents.len() as i64,
            previous_summary: Some("They talked about soup.".into()),
            messages: contents
                .iter()
                .enumerate()
                .map(|(i, c)| Message {
                    id: 10 + i as i64,
                    role: if i % 2 == 0 { "user" } else { "assistant" }.into(),
                    content: c.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_range_covers_exactly_the_messages_that_fit() {
        let c = candidate(&["aaaa", "bbbb", "cccc"]);
        let all = select(&c, 100).unwrap();
        assert_eq!((all.from_id, all.to_id, all.messages.len()), (10, 12, 3));
        let two = select(&c, 9).unwrap();
        assert_eq!((two.from_id, two.to_id, two.messages.len()), (10, 11, 2));
        let one = select(&c, 1).unwrap();
        assert_eq!(
            (one.from_id, one.to_id),
            (10, 10),
            "the first message always goes in"
        );
        assert!(select(&candidate(&[]), 100).is_none());
    }

    #[test]
    fn the_prompt_carries_persona_previous_summary_and_messages() {
        let c = candidate(&["I have leeks.", "Make vichyssoise."]);
        let input = select(&c, 100).unwrap();
        let prompt = messages(&input, 100);
        assert_eq!(prompt[0].role, "system");
        assert!(prompt[0].content.contains("A cook."));
        assert!(prompt[0].content.contains("\"summary\""));
        assert!(prompt[1].content.contains("They talked about soup."));
        assert!(prompt[1].content.contains("[user] I have leeks."));
        assert!(prompt[1].content.contains("[assistant] Make vichyssoise."));
    }

    #[test]
    fn answers_are_parsed_tidied_and_checked() {
        let draft =
            parse("```json\n{\"summary\": \"  Soup. \", \"facts\": [\"likes leeks\", \" \"]}\n```")
                .unwrap();
        assert_eq!(draft.summary, "Soup.");
        assert_eq!(draft.facts, vec!["likes leeks".to_string()]);
        assert_eq!(
            parse("{\"summary\": \"s\"}").unwrap().facts,
            Vec::<String>::new()
        );
        assert!(parse("{\"summary\": \"\"}").is_err());
        assert!(parse("{\"facts\": []}").is_err());
        assert!(parse("{\"summary\": \"s\", \"facts\": [1, 2]}").is_err());
    }
}
