//! The private-function part of `supacron check`: each job named in
//! `SUPACRON_PRIVATE_FUNCTIONS` must have its `schedule/v1beta` trigger in `vercel.json`
//! (without it the function is public and would run for anyone sending `ce-*` headers), and
//! each function with the trigger should be named there (without it Vercel's dispatches,
//! which carry no secret, are refused with 401 and the job never runs).

use super::Report;
use crate::Job;
use crate::schedules::{self, SCHEDULE_TRIGGER, function_file};

/// The `vercel.json` the check reads, and where it came from (a file, or the copy built into
/// the binary: what was deployed with it).
#[derive(Clone, Copy, Debug)]
pub struct VercelJson<'a> {
    /// The file's text.
    pub text: &'a str,
    /// `./vercel.json`, `the vercel.json built into this binary`, ….
    pub source: &'a str,
}

impl VercelJson<'static> {
    /// The copy built into this binary.
    pub fn built_in() -> Self {
        VercelJson {
            text: schedules::BUILT_IN,
            source: "the vercel.json built into this binary",
        }
    }
}

fn trigger(job: Job) -> String {
    format!(
        "`\"functions\": {{\"{}\": {{\"experimentalTriggers\": [{{\"type\": \"{SCHEDULE_TRIGGER}\"}}]}}}}`",
        function_file(job)
    )
}

/// Adds a finding per mismatch between `private` (`SUPACRON_PRIVATE_FUNCTIONS`) and the
/// triggers `vercel_json` declares, and a note naming the private functions that are right.
pub(super) fn private_functions(vercel_json: VercelJson<'_>, private: &[Job], report: &mut Report) {
    let source = vercel_json.source;
    let clocks = match schedules::parse(vercel_json.text) {
        Ok(clocks) => clocks,
        Err(e) => {
            report.error(format!(
                "{source}: {e}; private functions cannot be checked until it reads"
            ));
            return;
        }
    };
    let mut declared = Vec::new();
    for job in private {
        if clocks.private_triggers.contains(job) {
            declared.push(job.name());
        } else {
            report.error(format!(
                "SUPACRON_PRIVATE_FUNCTIONS names `{}`, but {source} does not declare {}: the \
                 function is public and would run for anyone sending `ce-*` headers; add the \
                 trigger, or remove the job from SUPACRON_PRIVATE_FUNCTIONS",
                job.name(),
                trigger(*job)
            ));
        }
    }
    for job in clocks
        .private_triggers
        .iter()
        .filter(|j| !private.contains(j))
    {
        let finding = format!(
            "{source} declares the {SCHEDULE_TRIGGER} trigger for {}, but \
             SUPACRON_PRIVATE_FUNCTIONS does not name `{}`: Vercel's scheduled calls carry no \
             secret and would be refused (401), so the job would never run; add `{}` to \
             SUPACRON_PRIVATE_FUNCTIONS",
            function_file(*job),
            job.name(),
            job.name()
        );
        if private.is_empty() {
            // Unset here; it may be set in Vercel.
            report.note(format!("{finding} (it is not set here: set it in Vercel)"));
        } else {
            report.error(finding);
        }
    }
    if !declared.is_empty() {
        report.note(format!(
            "private functions: {} (SUPACRON_PRIVATE_FUNCTIONS, with the {SCHEDULE_TRIGGER} trigger in {source})",
            declared.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::Severity;
    use super::*;

    const MEMORY_PRIVATE: &str = r#"{
      "crons": [{"path": "/api/cron/patch", "schedule": "*/2 * * * *"}],
      "schedules": [{"name": "memory", "schedule": "*/10 * * * *", "function": "api/cron/memory"}],
      "functions": {"api/cron/memory.rs": {"experimentalTriggers": [{"type": "schedule/v1beta"}]}}
    }"#;

    fn findings(text: &str, private: &[Job]) -> Vec<(Severity, String)> {
        let mut report = Report::default();
        let source = "x/vercel.json";
        private_functions(VercelJson { text, source }, private, &mut report);
        report
            .findings
            .into_iter()
            .map(|f| (f.severity, f.finding))
            .collect()
    }

    #[test]
    fn a_private_job_with_its_trigger_is_a_note() {
        let found = findings(MEMORY_PRIVATE, &[Job::Memory]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Severity::Note);
        assert!(
            found[0].1.starts_with("private functions: memory"),
            "{found:?}"
        );
    }

    #[test]
    fn a_private_job_without_its_trigger_is_an_error_naming_what_to_add() {
        let found = findings(MEMORY_PRIVATE, &[Job::Memory, Job::Patch]);
        let errors: Vec<_> = found.iter().filter(|f| f.0 == Severity::Error).collect();
        assert_eq!(errors.len(), 1, "{found:?}");
        assert!(errors[0].1.contains("names `patch`"), "{found:?}");
        assert!(errors[0].1.contains("x/vercel.json does not declare"));
        assert!(errors[0].1.contains(r#""api/cron/patch.rs""#));
        assert!(errors[0].1.contains("would run for anyone"));
    }

    #[test]
    fn a_trigger_the_variable_does_not_name_is_refused_traffic() {
        let found = findings(MEMORY_PRIVATE, &[Job::Patch]);
        let errors: Vec<_> = found.iter().filter(|f| f.0 == Severity::Error).collect();
        assert_eq!(errors.len(), 2, "{found:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.1.contains("does not name `memory`") && e.1.contains("refused (401)"))
        );
        // Unset here: only a note (it may be set in Vercel).
        let found = findings(MEMORY_PRIVATE, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Severity::Note);
        assert!(found[0].1.contains("set it in Vercel"));
    }

    /// The file docs/schedules.md reports building with `vercel build` (CLI 64.0.2).
    const BUILT_WITH_THE_CLI: &str = r#"{
  "$schema": "https://openapi.vercel.sh/vercel.json",
  "functions": {
    "api/cron/patch.rs": {
      "maxDuration": 60
    },
    "api/cron/memory.rs": {
      "maxDuration": 300,
      "experimentalTriggers": [
        {
          "type": "schedule/v1beta"
        }
      ]
    },
    "api/cron/schedule.rs": {
      "maxDuration": 300
    },
    "api/training/calculate-pending.rs": {
      "maxDuration": 120
    },
    "api/training/outcomes.rs": {
      "maxDuration": 120
    },
    "api/cron/status.rs": {
      "maxDuration": 15
    }
  },
  "schedules": [
    {
      "name": "cron-patch",
      "schedule": "*/2 * * * *",
      "path": "/api/cron/patch",
      "requestMethod": "GET"
    },
    {
      "name": "cron-memory",
      "schedule": "*/10 * * * *",
      "function": "api/cron/memory"
    },
    {
      "name": "cron-schedule",
      "schedule": "0 * * * *",
      "path": "/api/cron/schedule",
      "requestMethod": "GET"
    },
    {
      "name": "training-calculate-pending",
      "schedule": "0 * * * *",
      "path": "/api/training/calculate-pending",
      "requestMethod": "GET"
    },
    {
      "name": "training-outcomes",
      "schedule": "15 * * * *",
      "path": "/api/training/outcomes",
      "requestMethod": "GET",
      "timezone": "Europe/Berlin",
      "jitter": 5
    }
  ]
}"#;

    #[test]
    fn the_schedules_form_built_with_the_cli_is_ready_with_memory_private() {
        let found = findings(BUILT_WITH_THE_CLI, &[Job::Memory]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Severity::Note);
        assert!(
            found[0].1.starts_with("private functions: memory"),
            "{found:?}"
        );
        let clocks = schedules::parse(BUILT_WITH_THE_CLI).unwrap();
        assert_eq!(clocks.entries.len(), Job::ALL.len());
    }

    #[test]
    fn the_shipped_vercel_json_has_no_private_functions() {
        let mut report = Report::default();
        private_functions(VercelJson::built_in(), &[], &mut report);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn an_unreadable_vercel_json_is_one_error() {
        let found = findings("{", &[Job::Memory]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Severity::Error);
        assert!(
            found[0].1.starts_with("x/vercel.json: not a vercel.json"),
            "{found:?}"
        );
    }
}
