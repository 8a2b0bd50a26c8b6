//! The reward function (pure, version [`REWARD_VERSION`]): how good a decision turned out.
//!
//! ```text
//! reward = outcome × scale                                   always finite, in [-1, 1]
//! outcome = base(action, status) × (1 − w_speed + w_speed × speed)   if status = DONE and base > 0
//!         = base(action, status)                                      otherwise
//! speed   = 0.5 ^ (resolution_hours / half_life(action))     1 when instant, halves every half-life
//! scale   = 1 − w_conf + w_conf × confidence                 confident calls count fully,
//!                                                            unsure ones (confidence 0) count 1 − w_conf
//! ```
//!
//! | action | base DONE | base COLD_STORAGE | half-life |
//! |---|---|---|---|
//! | `do_now` | 1.0 | −0.5 | 24 h |
//! | `schedule` | 0.8 | −0.5 | 168 h |
//! | `delegate` | 0.8 | −0.5 | 72 h |
//! | `archive` | −0.3 | 1.0 | (speed not used) |
//!
//! Weights `w_speed` (`REWARD_SPEED_WEIGHT`) and `w_conf` (`REWARD_CONFIDENCE_WEIGHT`) are
//! in [0, 1], default 0.5. A missing confidence counts as 0.5.
//!
//! Properties (checked by property tests): the reward is finite and within [-1, 1]; for a
//! DONE outcome, faster resolution never lowers it; a higher confidence never lowers a
//! positive reward nor raises a negative one; DONE is never worse than COLD_STORAGE except
//! for `archive`.

use serde_json::{Value, json};

/// Version written to `decisions.reward_version`; bump it when the function changes.
pub const REWARD_VERSION: i32 = 1;

/// The actions the policy recommends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Do it now.
    DoNow,
    /// Put it in the calendar.
    Schedule,
    /// Hand it to someone else.
    Delegate,
    /// Put it away.
    Archive,
}

impl Action {
    /// Every action, with its name in `decisions.action`.
    pub const ALL: [(&'static str, Action); 4] = [
        ("do_now", Action::DoNow),
        ("schedule", Action::Schedule),
        ("delegate", Action::Delegate),
        ("archive", Action::Archive),
    ];

    /// Parses `decisions.action`.
    pub fn parse(name: &str) -> Result<Action, String> {
        Action::ALL.iter().find(|(n, _)| *n == name).map(|(_, a)| *a).ok_or_else(|| {
            format!("unknown action `{name}` (the reward function knows do_now, schedule, delegate, archive)")
        })
    }

    fn base(self, status: TerminalStatus) -> f64 {
        match (self, status) {
            (Action::DoNow, TerminalStatus::Done) => 1.0,
            (Action::Schedule | Action::Delegate, TerminalStatus::Done) => 0.8,
            (Action::Archive, TerminalStatus::Done) => -0.3,
            (Action::Archive, TerminalStatus::ColdStorage) => 1.0,
            (_, TerminalStatus::ColdStorage) => -0.5,
        }
    }

    fn half_life_hours(self) -> f64 {
        match self {
            Action::DoNow => 24.0,
            Action::Schedule | Action::Archive => 168.0,
            Action::Delegate => 72.0,
        }
    }
}

/// The terminal status an item reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalStatus {
    /// `DONE`.
    Done,
    /// `COLD_STORAGE`.
    ColdStorage,
}

impl TerminalStatus {
    /// Parses `outcomes.terminal_status`.
    pub fn parse(name: &str) -> Result<TerminalStatus, String> {
        match name {
            "DONE" => Ok(TerminalStatus::Done),
            "COLD_STORAGE" => Ok(TerminalStatus::ColdStorage),
            other => Err(format!(
                "terminal status `{other}` is neither DONE nor COLD_STORAGE"
            )),
        }
    }
}

/// The weights of the function, each in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RewardWeights {
    /// How much resolution speed counts for DONE outcomes.
    pub speed: f64,
    /// How much the decision's confidence scales the reward.
    pub confidence: f64,
}

impl Default for RewardWeights {
    fn default() -> Self {
        RewardWeights {
            speed: 0.5,
            confidence: 0.5,
        }
    }
}

/// What the function looks at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RewardInput {
    /// The recommended action.
    pub action: Action,
    /// Where the item ended.
    pub status: TerminalStatus,
    /// Hours from decision to resolution (≥ 0).
    pub resolution_hours: f64,
    /// The policy's confidence in [0, 1], if it gave one.
    pub confidence: Option<f64>,
}

/// A computed reward and its components (for `decisions.reward_details`).
#[derive(Clone, Debug, PartialEq)]
pub struct Reward {
    /// The reward, in [-1, 1].
    pub value: f64,
    /// The components, as stored.
    pub details: Value,
}

/// Computes the reward of one decision. Errors name what is wrong with the input.
pub fn reward(input: &RewardInput, weights: &RewardWeights) -> Result<Reward, String> {
    if !input.resolution_hours.is_finite() || input.resolution_hours < 0.0 {
        return Err(format!(
            "outcome makes no sense: resolved {} hours after the decision (before it was made)",
            input.resolution_hours
        ));
    }
    let confidence = input.confidence.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&confidence) {
        return Err(format!("confidence {confidence} is outside [0, 1]"));
    }
    let base = input.action.base(input.status);
    let speed = 0.5f64.powf(input.resolution_hours / input.action.half_life_hours());
    let outcome = if input.status == TerminalStatus::Done && base > 0.0 {
        base * (1.0 - weights.speed + weights.speed * speed)
    } else {
        base
    };
    let scale = 1.0 - weights.confidence + weights.confidence * confidence;
    let value = (outcome * scale).clamp(-1.0, 1.0);
    Ok(Reward {
        value,
        details: json!({
            "base": base,
            "speed": speed,
            "speed_weight": weights.speed,
            "outcome": outcome,
            "confidence": confidence,
            "confidence_weight": weights.confidence,
            "scale": scale,
            "resolution_hours": input.resolution_hours,
            "version": REWARD_VERSION,
        }),
    })
}

#[cfg(test)]
mod tests;
