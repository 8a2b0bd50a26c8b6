//! Factories for the operations tables: cron runs and job locks.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::inserted;

/// A recorded run. The default is a finished, successful manual `patch` run.
#[derive(Debug, Clone)]
pub struct NewCronRun {
    /// `None`: a random run id.
    pub run_id: Option<Uuid>,
    pub job: String,
    pub trigger: String,
    pub status: String,
    /// `None`: now().
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub counts: Value,
    pub error: Option<String>,
    pub deployment_id: Option<String>,
}

impl Default for NewCronRun {
    fn default() -> Self {
        NewCronRun {
            run_id: None,
            job: "patch".into(),
            trigger: "manual".into(),
            status: "ok".into(),
            started_at: None,
            finished_at: None,
            duration_ms: Some(12),
            counts: json!({}),
            error: None,
            deployment_id: None,
        }
    }
}

/// Inserts a cron run; returns its id (not its run_id).
pub async fn cron_run(db: &impl GenericClient, new: NewCronRun) -> i64 {
    let row = inserted(
        "cron_run",
        db.query_one(
            "insert into public.cron_runs
                 (run_id, job, trigger, status, started_at, finished_at, duration_ms, counts,
                  error, deployment_id)
             values (coalesce($1, gen_random_uuid()), $2, $3, $4, coalesce($5, now()), $6, $7,
                     $8, $9, $10)
             returning id",
            &[
                &new.run_id,
                &new.job,
                &new.trigger,
                &new.status,
                &new.started_at,
                &new.finished_at,
                &new.duration_ms,
                &new.counts,
                &new.error,
                &new.deployment_id,
            ],
        )
        .await,
    );
    row.get(0)
}

/// A job lock row. The default is a free lock for `memory`.
#[derive(Debug, Clone)]
pub struct NewJobLock {
    pub job: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub acquired_at: Option<DateTime<Utc>>,
}

impl Default for NewJobLock {
    fn default() -> Self {
        NewJobLock {
            job: "memory".into(),
            lease_owner: None,
            lease_until: None,
            acquired_at: None,
        }
    }
}

/// Inserts a job lock row; returns its job name.
pub async fn job_lock(db: &impl GenericClient, new: NewJobLock) -> String {
    let row = inserted(
        "job_lock",
        db.query_one(
            "insert into public.job_locks (job, lease_owner, lease_until, acquired_at)
             values ($1, $2, $3, $4)
             returning job",
            &[
                &new.job,
                &new.lease_owner,
                &new.lease_until,
                &new.acquired_at,
            ],
        )
        .await,
    );
    row.get(0)
}
