//! Unit tests of batch planning.

use serde_json::json;

use super::*;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn job(n: i64, conversation: u128, character: Option<u128>, patch: Value) -> ClaimedJob {
    ClaimedJob {
        id: n,
        conversation_id: id(conversation),
        character_id: character.map(id),
        patch,
        attempts: 1,
        max_attempts: 25,
        unreadable: None,
    }
}

fn row(n: u128, state: Value, ledger: &[i64], version: i64) -> StateRow {
    StateRow {
        id: id(n),
        state,
        run_state: json!({ "applied_patch_job_ids": ledger }),
        version,
    }
}

#[test]
fn conversations_sharing_a_character_form_one_unit() {
    let jobs = vec![
        job(1, 10, Some(100), json!({})),
        job(2, 20, Some(200), json!({})),
        job(3, 30, Some(100), json!({})),
        job(4, 20, Some(200), json!({})),
    ];
    let units = group_units(&jobs);
    let ids: Vec<Vec<i64>> = units
        .iter()
        .map(|u| u.jobs.iter().map(|j| j.id).collect())
        .collect();
    assert_eq!(ids, vec![vec![1, 3], vec![2, 4]]);
}

#[test]
fn jobs_apply_in_id_order_and_skip_the_ledger() {
    let unit = Unit {
        jobs: vec![
            job(
                5,
                10,
                Some(100),
                json!({"conversation": [{"op": "add", "path": "/log/-", "value": 5}]}),
            ),
            job(
                6,
                10,
                Some(100),
                json!({"conversation": [{"op": "add", "path": "/log/-", "value": 6}],
                                          "character": {"mood": "sunny"}}),
            ),
            job(
                7,
                10,
                Some(100),
                json!({"conversation": [{"op": "add", "path": "/log/-", "value": 7}]}),
            ),
        ],
    };
    let states = States {
        conversation_states: vec![row(10, json!({"log": [5]}), &[5], 3)],
        character_states: vec![row(100, json!({}), &[], 8)],
        unreadable: Vec::new(),
    };
    let plan = plan_unit(&unit, &states);
    assert_eq!(plan.done, vec![5, 6, 7]);
    assert!(plan.dead.is_empty());
    assert_eq!(plan.writes.len(), 2);
    let conversation = &plan.writes[0];
    assert_eq!(
        (conversation.kind, conversation.expected_version),
        (RowKind::Conversation, 3)
    );
    assert_eq!(
        conversation.state,
        json!({"log": [5, 6, 7]}),
        "job 5 was in the ledger"
    );
    assert_eq!(
        conversation.run_state["applied_patch_job_ids"],
        json!([5, 6, 7])
    );
    assert_eq!(plan.writes[1].state, json!({"mood": "sunny"}));
    assert_eq!(
        plan.writes[1].run_state["applied_patch_job_ids"],
        json!([6])
    );
}

#[test]
fn a_job_that_cannot_apply_is_dead_and_its_neighbours_go_on() {
    let unit = Unit {
        jobs: vec![
            job(1, 10, Some(100), json!({"conversation": {"a": 1}})),
            job(
                2,
                10,
                Some(100),
                json!({"conversation": {"b": 2},
                                          "character": [{"op": "test", "path": "/x", "value": 1}]}),
            ),
            job(3, 10, Some(100), json!({"conversation": 42})),
            job(4, 10, Some(101), json!({"character": {"c": 3}})),
            job(5, 10, Some(100), json!({"conversation": {"d": 4}})),
        ],
    };
    let states = States {
        conversation_states: vec![row(10, json!({}), &[], 0)],
        character_states: vec![row(100, json!({}), &[], 0)],
        unreadable: Vec::new(),
    };
    let plan = plan_unit(&unit, &states);
    assert_eq!(plan.done, vec![1, 5]);
    let dead: Vec<i64> = plan.dead.iter().map(|d| d.0).collect();
    assert_eq!(dead, vec![2, 3, 4]);
    assert!(
        plan.dead[0].1.contains("does not apply"),
        "{}",
        plan.dead[0].1
    );
    assert!(
        plan.dead[2].1.contains("unknown character"),
        "{}",
        plan.dead[2].1
    );
    assert_eq!(
        plan.writes.len(),
        1,
        "job 2's conversation part was not applied either"
    );
    assert_eq!(plan.writes[0].state, json!({"a": 1, "d": 4}));
}

#[test]
fn the_ledger_keeps_only_the_newest_ids() {
    let long: Vec<i64> = (1..=LEDGER_CAPACITY as i64).collect();
    let next = with_ledger(
        &json!({"applied_patch_job_ids": long, "other": true}),
        &[1000, 1001],
    );
    let ids = next["applied_patch_job_ids"].as_array().unwrap();
    assert_eq!(ids.len(), LEDGER_CAPACITY);
    assert_eq!(ids[0], json!(3));
    assert_eq!(ids[LEDGER_CAPACITY - 1], json!(1001));
    assert_eq!(next["other"], json!(true), "the rest of run_state is kept");
}
