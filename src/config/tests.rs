//! Unit tests of configuration validation.

use std::collections::HashMap;

use super::*;

fn config(vars: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

const FULL: &[(&str, &str)] = &[
    ("CRON_SECRET", "cron-secret-value-123"),
    ("SUPABASE_URL", "https://abc.supabase.co"),
    ("SUPABASE_SERVICE_ROLE_KEY", "sb_secret_abcdef"),
    ("MINIMAX_API_KEY", "mm-key-xyz"),
];

#[test]
fn every_missing_variable_is_named_at_once() {
    let err = config(&[]).for_job(Job::Memory).unwrap_err();
    assert_eq!(
        err.missing,
        vec![
            "SUPABASE_URL",
            "SUPABASE_SERVICE_ROLE_KEY",
            "MINIMAX_API_KEY"
        ]
    );
    let text = err.to_string();
    for name in [
        "SUPABASE_URL",
        "SUPABASE_SERVICE_ROLE_KEY",
        "MINIMAX_API_KEY",
    ] {
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn empty_values_count_as_missing() {
    let c = config(&[
        ("CRON_SECRET", ""),
        ("SUPABASE_URL", ""),
        ("SUPABASE_SERVICE_ROLE_KEY", "k"),
    ]);
    assert_eq!(c.cron_secret().unwrap_err().missing, vec!["CRON_SECRET"]);
    assert_eq!(
        c.for_job(Job::Patch).unwrap_err().missing,
        vec!["SUPABASE_URL"]
    );
}

#[test]
fn the_patch_job_never_needs_minimax() {
    let c = config(&FULL[..3]);
    let job = c.for_job(Job::Patch).expect("patch needs no LLM");
    assert!(job.llm.is_none());
    assert_eq!(
        c.for_job(Job::Schedule).unwrap_err().missing,
        vec!["MINIMAX_API_KEY"]
    );
}

#[test]
fn the_offline_provider_needs_no_key() {
    let mut vars = FULL[..3].to_vec();
    vars.push(("SUPACRON_LLM_PROVIDER", "offline"));
    let llm = config(&vars).for_job(Job::Memory).unwrap().llm.unwrap();
    assert_eq!(llm.provider, LlmProvider::Offline);
    assert!(llm.api_key.is_none());
}

#[test]
fn errors_never_contain_values() {
    let c = config(&[
        ("CRON_SECRET", "trailing-newline-secret\n"),
        ("SUPABASE_SERVICE_ROLE_KEY", "sb_publishable_topsecretvalue"),
        ("SUPABASE_URL", "ftp://nope.example"),
        ("SUPABASE_TIMEOUT_SECS", "soon"),
    ]);
    let err = c.cron_secret().unwrap_err();
    assert!(
        err.to_string()
            .contains("CRON_SECRET has leading or trailing whitespace"),
        "{err}"
    );
    let err = c.for_job(Job::Patch).unwrap_err().to_string();
    assert!(err.contains("publishable key"), "{err}");
    assert!(
        err.contains("SUPABASE_URL must start with https://"),
        "{err}"
    );
    assert!(
        err.contains("SUPABASE_TIMEOUT_SECS must be a whole number"),
        "{err}"
    );
    for value in [
        "trailing-newline-secret",
        "topsecretvalue",
        "nope.example",
        "soon",
    ] {
        assert!(!err.contains(value), "{err}");
    }
    assert!(!format!("{c:?}").contains("topsecretvalue"));
}

#[test]
fn supabase_url_gets_the_rest_prefix() {
    let job = config(FULL).for_job(Job::Patch).unwrap();
    assert_eq!(job.supabase.rest_url, "https://abc.supabase.co/rest/v1");
    let mut vars = FULL.to_vec();
    vars[1] = ("SUPABASE_URL", "http://127.0.0.1:54321/rest/v1/");
    assert_eq!(
        config(&vars).for_job(Job::Patch).unwrap().supabase.rest_url,
        "http://127.0.0.1:54321/rest/v1"
    );
}

#[test]
fn time_budget_leaves_a_margin_below_max_duration() {
    let t = Tunables::default();
    assert_eq!(t.time_budget(Job::Patch).as_secs(), 54);
    assert_eq!(t.time_budget(Job::Memory).as_secs(), 270);
    let t = Tunables {
        time_budget_secs: Some(3),
        ..Tunables::default()
    };
    assert_eq!(t.time_budget(Job::Patch).as_secs(), 3);
}

#[test]
fn an_invalid_variable_stops_only_the_jobs_that_read_it() {
    let mut vars = FULL.to_vec();
    vars.extend([
        ("REWARD_SPEED_WEIGHT", "2"),
        ("PATCH_BATCH_SIZE", "lots"),
        ("INTERNAL_API_KEY", "key-with-newline\n"),
        ("MEMORY_MAX_MESSAGES", "0"),
    ]);
    let c = config(&vars);
    let invalid = |job: Job| match c.for_job(job) {
        Ok(_) => Vec::new(),
        Err(e) => e.invalid.iter().map(|r| r.variable.to_string()).collect(),
    };
    assert_eq!(invalid(Job::Patch), ["PATCH_BATCH_SIZE"]);
    assert_eq!(invalid(Job::Memory), ["MEMORY_MAX_MESSAGES"]);
    assert!(invalid(Job::Schedule).is_empty());
    assert_eq!(invalid(Job::Outcomes), ["INTERNAL_API_KEY"]);
    assert_eq!(
        invalid(Job::Rewards),
        ["INTERNAL_API_KEY", "REWARD_SPEED_WEIGHT"]
    );
    assert!(c.for_status().is_ok());
}

#[test]
fn a_variable_every_job_reads_stops_them_all() {
    let mut vars = FULL.to_vec();
    vars.push(("SUPABASE_TIMEOUT_SECS", "-1"));
    let c = config(&vars);
    for job in Job::ALL {
        let err = c.for_job(job).unwrap_err();
        assert!(
            err.invalid[0].variable == "SUPABASE_TIMEOUT_SECS",
            "{job}: {err}"
        );
    }
}

#[test]
fn an_unusable_cron_secret_is_the_credential_checks_business_not_the_jobs() {
    let mut vars = FULL[1..].to_vec();
    vars.push(("CRON_SECRET", " padded "));
    let c = config(&vars);
    assert!(c.cron_secret().is_err());
    for job in Job::ALL {
        assert!(c.for_job(job).is_ok(), "{job}");
    }
}

/// Issue #22: a one-character CRON_SECRET was accepted. Shorter than 16 characters is a
/// configuration error naming the variable, like an unset one; so is a short
/// INTERNAL_API_KEY (the training functions then refuse everything with 500).
#[test]
fn shared_secrets_shorter_than_16_characters_are_refused() {
    for short in ["x", "fifteen-chars-1"] {
        let mut vars: Vec<(&str, &str)> = FULL
            .iter()
            .filter(|(k, _)| *k != "CRON_SECRET")
            .copied()
            .collect();
        vars.push(("CRON_SECRET", short));
        let c = config(&vars);
        let error = c.cron_secret().unwrap_err();
        assert_eq!(error.missing, vec!["CRON_SECRET"]);
        let text = error.to_string();
        assert!(
            text.contains("CRON_SECRET is shorter than 16 characters"),
            "{text}"
        );
        assert!(
            !text.contains("fifteen-chars-1"),
            "the value is never quoted: {text}"
        );
    }
    let mut vars: Vec<(&str, &str)> = FULL
        .iter()
        .filter(|(k, _)| *k != "CRON_SECRET")
        .copied()
        .collect();
    vars.push(("CRON_SECRET", "sixteen-chars-12"));
    vars.push(("INTERNAL_API_KEY", "short-key"));
    let c = config(&vars);
    assert!(c.cron_secret().is_ok(), "16 characters are enough");
    let error = c.checked_internal_api_key().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("INTERNAL_API_KEY is shorter than 16 characters")
    );
}

#[test]
fn private_functions_are_job_names_or_paths_and_an_unknown_one_is_named() {
    let config = Config::from_lookup(|name| {
        (name == "SUPACRON_PRIVATE_FUNCTIONS").then(|| "memory, /api/cron/patch,memory".into())
    });
    assert_eq!(config.private_functions(), &[Job::Memory, Job::Patch]);
    assert!(config.is_private(Job::Patch) && !config.is_private(Job::Schedule));
    let config = Config::from_lookup(|name| {
        (name == "SUPACRON_PRIVATE_FUNCTIONS").then(|| "memory,teleport".into())
    });
    let error = config.for_job(Job::Patch).unwrap_err().to_string();
    assert!(
        error.contains("SUPACRON_PRIVATE_FUNCTIONS names something that is not a job"),
        "{error}"
    );
    assert!(!config.is_private(Job::Patch));
}
