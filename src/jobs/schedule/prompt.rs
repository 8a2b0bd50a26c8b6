//! The schedule prompt: a post or diary entry in the character's voice, for one slot.
//!
//! Pure functions. The prompt gives the persona, the slot's local time, the character's
//! three latest memories and the schedule's own prompt (each capped: [`MAX_PERSONA_CHARS`],
//! [`MAX_SCHEDULE_PROMPT_CHARS`], 600 characters a memory); the answer is plain text (reasoning,
//! fences and wrapping quotes removed, length capped). The offline provider writes a
//! templated, clearly labelled text instead.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::llm::output::{strip_fences, strip_think, truncate_chars};
use crate::llm::{
    ChatMessage, LlmError, MAX_NAME_CHARS, MAX_PERSONA_CHARS, MAX_SCHEDULE_PROMPT_CHARS,
};

/// Longest post stored; longer ones are cut.
pub const MAX_POST_CHARS: usize = 2000;

/// A tick waiting for content (a row of `open_schedule_ticks`).
#[derive(Clone, Debug, Deserialize)]
pub struct OpenTick {
    /// The tick.
    pub tick_id: i64,
    /// Its slot.
    pub slot: DateTime<Utc>,
    /// Failed generations so far.
    pub attempts: i32,
    /// Its schedule.
    pub schedule_id: Uuid,
    /// `post` or `diary`.
    pub kind: String,
    /// The schedule's prompt.
    pub prompt: String,
    /// The schedule's time zone.
    pub timezone: String,
    /// The character.
    pub character_id: Uuid,
    /// Its name.
    pub character_name: String,
    /// Its persona.
    pub persona: String,
    /// Its latest memories' summaries, newest first.
    #[serde(default)]
    pub memories: Vec<String>,
}

impl OpenTick {
    /// The slot in the schedule's zone, for people (`Sunday 22 November 2026, 21:30`).
    pub fn local_time(&self) -> String {
        match super::slots::parse_zone(&self.timezone) {
            Ok(zone) => self
                .slot
                .with_timezone(&zone)
                .format("%A %-d %B %Y, %H:%M")
                .to_string(),
            Err(_) => self.slot.format("%A %-d %B %Y, %H:%M UTC").to_string(),
        }
    }
}

/// The chat messages sent to the model.
pub fn messages(tick: &OpenTick) -> Vec<ChatMessage> {
    let what = if tick.kind == "diary" {
        "a private diary entry: first person, reflective, at most 150 words"
    } else {
        "a short social media post for your followers: at most 60 words"
    };
    let system = format!(
        "You are {name}. {persona}\n\nWrite {what}, in your own voice. Answer with only the text: \
         no title, no quotation marks, no explanation.",
        name = truncate_chars(&tick.character_name, MAX_NAME_CHARS),
        persona = truncate_chars(&tick.persona, MAX_PERSONA_CHARS),
    );
    let mut user = format!("It is {} ({}).\n", tick.local_time(), tick.timezone);
    if !tick.memories.is_empty() {
        user.push_str("What you remember from recent conversations:\n");
        for memory in &tick.memories {
            user.push_str(&format!("- {}\n", truncate_chars(memory, 600)));
        }
    }
    user.push_str(&format!(
        "\nTask: {}",
        truncate_chars(&tick.prompt, MAX_SCHEDULE_PROMPT_CHARS)
    ));
    vec![ChatMessage::system(system), ChatMessage::user(user)]
}

/// Reads the model's answer: plain text, unwrapped and capped; empty is an output error.
pub fn parse(content: &str) -> Result<String, LlmError> {
    let cleaned = strip_think(content);
    let text = strip_fences(&cleaned).trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .trim();
    if text.is_empty() {
        return Err(LlmError::output("the answer is empty"));
    }
    Ok(truncate_chars(text, MAX_POST_CHARS))
}

/// The offline provider's text: templated, deterministic, labelled.
pub fn offline(tick: &OpenTick) -> String {
    if tick.kind == "diary" {
        format!(
            "[offline demo] Dear diary, {}. {} ({})",
            tick.local_time(),
            tick.prompt,
            tick.character_name
        )
    } else {
        format!(
            "[offline demo] {} at {}: {}",
            tick.character_name,
            tick.local_time(),
            tick.prompt
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(kind: &str) -> OpenTick {
        OpenTick {
            tick_id: 1,
            slot: DateTime::parse_from_rfc3339("2026-11-22T20:30:00Z")
                .unwrap()
                .with_timezone(&Utc),
            attempts: 0,
            schedule_id: Uuid::nil(),
            kind: kind.into(),
            prompt: "Write about the shop.".into(),
            timezone: "Europe/Berlin".into(),
            character_id: Uuid::nil(),
            character_name: "Klaus".into(),
            persona: "A bookseller.".into(),
            memories: vec!["A customer wanted Fontane.".into()],
        }
    }

    #[test]
    fn the_prompt_has_persona_local_time_memories_and_task() {
        let prompt = messages(&tick("diary"));
        assert!(prompt[0].content.contains("You are Klaus. A bookseller."));
        assert!(prompt[0].content.contains("diary entry"));
        assert!(
            prompt[1]
                .content
                .contains("Sunday 22 November 2026, 21:30 (Europe/Berlin)")
        );
        assert!(prompt[1].content.contains("- A customer wanted Fontane."));
        assert!(prompt[1].content.ends_with("Task: Write about the shop."));
        assert!(
            messages(&tick("post"))[0]
                .content
                .contains("social media post")
        );
    }

    #[test]
    fn answers_are_unwrapped_and_empty_ones_refused() {
        assert_eq!(
            parse("<think>hm</think>\n\"Fresh soup today!\"").unwrap(),
            "Fresh soup today!"
        );
        assert_eq!(parse("```\nText\n```").unwrap(), "Text");
        assert!(parse("<think>only thinking</think>").is_err());
        assert!(parse("   ").is_err());
    }

    #[test]
    fn offline_text_is_labelled_and_deterministic() {
        let t = tick("post");
        assert_eq!(
            offline(&t),
            "[offline demo] Klaus at Sunday 22 November 2026, 21:30: Write about the shop."
        );
        assert!(offline(&tick("diary")).starts_with("[offline demo] Dear diary"));
    }
}
