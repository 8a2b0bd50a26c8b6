//! Property tests of the reward function: thousands of random inputs from a seeded
//! generator (reproducible), checking the documented properties; plus worked examples.

use super::*;

const CASES: usize = 20_000;

fn random_input(rng: &mut fastrand::Rng) -> (RewardInput, RewardWeights) {
    let (_, action) = Action::ALL[rng.usize(..4)];
    let status = if rng.bool() {
        TerminalStatus::Done
    } else {
        TerminalStatus::ColdStorage
    };
    let hours = match rng.u8(..4) {
        0 => 0.0,
        1 => rng.f64() * 48.0,
        2 => rng.f64() * 10_000.0,
        _ => 1e12 * rng.f64(),
    };
    let confidence = if rng.u8(..5) == 0 {
        None
    } else {
        Some(rng.f64())
    };
    let weights = RewardWeights {
        speed: rng.f64(),
        confidence: rng.f64(),
    };
    (
        RewardInput {
            action,
            status,
            resolution_hours: hours,
            confidence,
        },
        weights,
    )
}

#[test]
fn always_finite_and_within_minus_one_to_one() {
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..CASES {
        let (input, weights) = random_input(&mut rng);
        let r = reward(&input, &weights).unwrap();
        assert!(
            r.value.is_finite() && (-1.0..=1.0).contains(&r.value),
            "{input:?} {weights:?} -> {}",
            r.value
        );
    }
}

#[test]
fn faster_resolution_never_lowers_a_done_reward() {
    let mut rng = fastrand::Rng::with_seed(11);
    for _ in 0..CASES {
        let (mut input, weights) = random_input(&mut rng);
        input.status = TerminalStatus::Done;
        let slow = reward(&input, &weights).unwrap().value;
        input.resolution_hours *= rng.f64();
        let fast = reward(&input, &weights).unwrap().value;
        assert!(fast >= slow, "{input:?}: faster {fast} < slower {slow}");
    }
}

#[test]
fn confidence_amplifies_without_flipping_the_sign() {
    let mut rng = fastrand::Rng::with_seed(13);
    for _ in 0..CASES {
        let (mut input, weights) = random_input(&mut rng);
        let low_confidence = rng.f64();
        input.confidence = Some(low_confidence);
        let low = reward(&input, &weights).unwrap().value;
        input.confidence = Some(low_confidence + (1.0 - low_confidence) * rng.f64());
        let high = reward(&input, &weights).unwrap().value;
        if low >= 0.0 {
            assert!(high >= low, "{input:?}: {high} < {low}");
        } else {
            assert!(high <= low, "{input:?}: {high} > {low}");
        }
        assert_eq!(low.signum(), high.signum(), "{input:?}");
    }
}

#[test]
fn done_beats_cold_storage_except_for_archive() {
    let mut rng = fastrand::Rng::with_seed(17);
    for _ in 0..CASES {
        let (mut input, weights) = random_input(&mut rng);
        input.status = TerminalStatus::Done;
        let done = reward(&input, &weights).unwrap().value;
        input.status = TerminalStatus::ColdStorage;
        let cold = reward(&input, &weights).unwrap().value;
        if input.action == Action::Archive {
            assert!(cold >= done, "{input:?}");
        } else {
            assert!(done >= cold, "{input:?}");
        }
    }
}

#[test]
fn worked_examples_from_the_readme() {
    let w = RewardWeights::default();
    let case = |action, status, hours: f64, confidence| {
        let input = RewardInput {
            action,
            status,
            resolution_hours: hours,
            confidence,
        };
        (reward(&input, &w).unwrap().value * 1000.0).round() / 1000.0
    };
    assert_eq!(
        case(Action::DoNow, TerminalStatus::Done, 0.0, Some(1.0)),
        1.0
    );
    assert_eq!(
        case(Action::DoNow, TerminalStatus::Done, 24.0, Some(1.0)),
        0.75
    );
    assert_eq!(
        case(Action::DoNow, TerminalStatus::Done, 24.0, Some(0.5)),
        0.563
    );
    assert_eq!(
        case(Action::Schedule, TerminalStatus::Done, 168.0, Some(0.8)),
        0.54
    );
    assert_eq!(
        case(
            Action::Delegate,
            TerminalStatus::ColdStorage,
            10.0,
            Some(0.9)
        ),
        -0.475
    );
    assert_eq!(
        case(Action::Archive, TerminalStatus::ColdStorage, 72.0, None),
        0.75
    );
    assert_eq!(
        case(Action::Archive, TerminalStatus::Done, 5.0, Some(1.0)),
        -0.3
    );
}

#[test]
fn nonsense_inputs_are_named() {
    let w = RewardWeights::default();
    let input = RewardInput {
        action: Action::DoNow,
        status: TerminalStatus::Done,
        resolution_hours: -2.0,
        confidence: None,
    };
    assert!(
        reward(&input, &w)
            .unwrap_err()
            .contains("before it was made")
    );
    assert!(
        Action::parse("teleport")
            .unwrap_err()
            .contains("unknown action `teleport`")
    );
    assert!(TerminalStatus::parse("ACTIVE").is_err());
}
