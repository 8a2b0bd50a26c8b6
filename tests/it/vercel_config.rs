//! `vercel.json`, `Cargo.toml` and the code agree: every function is built, scheduled and
//! sized the same way everywhere, and the deployment publishes nothing but the functions.

use std::path::Path;

use serde_json::Value;
use supacron::Job;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn vercel_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("vercel.json")).unwrap()).unwrap()
}

fn function_file(job: Job) -> String {
    format!("{}.rs", job.path().trim_start_matches('/'))
}

#[test]
fn every_job_is_scheduled_as_the_code_says_and_no_path_carries_a_secret() {
    let config = vercel_json();
    let crons = config["crons"].as_array().unwrap();
    assert_eq!(crons.len(), Job::ALL.len());
    for job in Job::ALL {
        let cron = crons
            .iter()
            .find(|c| c["path"] == job.path())
            .unwrap_or_else(|| panic!("{job} not scheduled"));
        assert_eq!(
            cron["schedule"].as_str(),
            job.clock().map(|c| c.expression.as_str()),
            "{job}"
        );
    }
    for cron in crons {
        let path = cron["path"].as_str().unwrap();
        assert!(!path.contains('?') && !path.contains("secret"), "{path}");
    }
}

#[test]
fn max_duration_matches_the_time_budget_the_code_assumes() {
    let config = vercel_json();
    for job in Job::ALL {
        let file = function_file(job);
        assert_eq!(
            config["functions"][&file]["maxDuration"],
            job.max_duration_secs(),
            "{file}"
        );
        assert!(
            job.max_duration_secs() <= 300,
            "{job} must fit Hobby's 300 s cap"
        );
    }
}

#[test]
fn every_function_file_is_a_bin_with_exactly_its_path() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for job in Job::ALL {
        let file = function_file(job);
        assert!(root().join(&file).is_file(), "{file} missing");
        assert!(
            manifest.contains(&format!("path = \"{file}\"")),
            "no [[bin]] with path {file}"
        );
    }
}

#[test]
fn the_deployment_serves_public_not_the_repository_root() {
    let public = root().join("public");
    let files: Vec<_> = std::fs::read_dir(&public)
        .expect("public/ exists")
        .collect();
    assert!(
        !files.is_empty(),
        "an empty public/ is not deployed; Vercel would serve the root"
    );
}

#[test]
fn the_status_function_is_built_and_sized_but_never_scheduled() {
    use supacron::function::status;
    let config = vercel_json();
    let file = format!("{}.rs", status::PATH.trim_start_matches('/'));
    assert_eq!(
        config["functions"][&file]["maxDuration"],
        status::MAX_DURATION_SECS
    );
    assert!(
        config["crons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["path"] != status::PATH),
        "the status page is looked at, not run on a schedule"
    );
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(root().join(&file).is_file() && manifest.contains(&format!("path = \"{file}\"")));
}

#[test]
fn every_function_runs_on_one_thread() {
    // A multi-thread runtime starts a worker per core before the first answer: measurable
    // in every cold start (scripts/bench.sh), for an I/O-bound job that gains nothing.
    let status = format!(
        "{}.rs",
        supacron::function::status::PATH.trim_start_matches('/')
    );
    let files = Job::ALL.into_iter().map(function_file).chain([status]);
    for file in files {
        let source = std::fs::read_to_string(root().join(&file)).unwrap();
        assert!(
            source.contains("#[tokio::main(flavor = \"current_thread\")]"),
            "{file} must start a current-thread runtime"
        );
    }
}
