//! The variables: one declaration each — name, type and bounds, default, whether a run
//! needs it, which functions read it, and its one-line doc.
//!
//! Everything else follows from this table: [`super::Config::from_lookup`] checks each
//! value by its [`Kind`] (in this order, so a message lists problems in this order),
//! [`super::Config::for_job`] asks only for what the job reads ([`ReadBy`], [`Need`]), and
//! the table in docs/configuration.md is [`super::docs::markdown_table`] (a test keeps the
//! two equal, and `.env.example` listing every variable).
//!
//! To add a variable: declare it here, read it in `Config::from_lookup` (a field of
//! [`super::Config`] or [`super::Tunables`]), add it to `.env.example` with a comment, and
//! run `SUPACRON_WRITE_DOCS=1 cargo test -p supacron --lib config::agreement` to rewrite the
//! docs table.

use crate::jobs::catalog::Job;

/// One environment variable.
#[derive(Debug)]
pub struct Var {
    /// Its name.
    pub name: &'static str,
    /// What a value must look like.
    pub kind: Kind,
    /// What an unset (or empty) variable means.
    pub default: Default,
    /// Whether a run that reads it needs it set.
    pub need: Need,
    /// Which functions read it: only their runs are stopped by a bad value.
    pub read_by: ReadBy,
    /// What it is, for docs/configuration.md (Markdown, one line).
    pub doc: &'static str,
}

/// What a value must look like (the checks, and the docs' type column).
#[derive(Debug)]
pub enum Kind {
    /// A secret: no leading or trailing whitespace, only characters an HTTP header can carry,
    /// and at least `min_chars` characters (0: any length). Held as a
    /// [`crate::secret::Secret`].
    Secret {
        /// The fewest characters accepted.
        min_chars: usize,
    },
    /// Supabase's service-role key: a [`Kind::Secret`] that is not a publishable key.
    ServiceKey,
    /// Supabase's URL: `http://` or `https://`; `/rest/v1` is appended to a bare origin.
    SupabaseUrl,
    /// Any text.
    Text,
    /// One of `choices` (compared ignoring ASCII case when `ignore_case`).
    Choice {
        /// The accepted values.
        choices: &'static [&'static str],
        /// Whether `INFO` is `info`.
        ignore_case: bool,
    },
    /// A whole number greater than 0; larger than `cap` counts as `cap`.
    Whole {
        /// The largest value used.
        cap: Option<u64>,
    },
    /// A number between 0 and 1.
    Fraction,
    /// Job names (or their paths), comma- or space-separated.
    Jobs,
    /// An `http://` or `https://` URL that holds a secret (a ping key, a webhook token):
    /// held as a [`crate::secret::Secret`], so no log line shows it.
    SecretUrl,
}

/// What an unset variable means.
#[derive(Debug)]
pub enum Default {
    /// Nothing: the variable is absent.
    None,
    /// This text (for [`Kind::Text`] and [`Kind::Choice`]).
    Text(&'static str),
    /// This number (for [`Kind::Whole`]).
    Whole(u64),
    /// This number (for [`Kind::Fraction`]).
    Fraction(f64),
    /// Something the code works out, in words (for the docs).
    Described(&'static str),
}

/// Whether a run that reads the variable needs it set.
#[derive(Debug, PartialEq, Eq)]
pub enum Need {
    /// It may be unset.
    Optional,
    /// Unset: the run is refused (500 naming it).
    Required,
    /// Required unless `SUPACRON_LLM_PROVIDER=offline`.
    RequiredWithMinimax,
}

/// Which functions read the variable.
#[derive(Debug)]
pub enum ReadBy {
    /// The credential check of every function, before any run: a problem refuses every
    /// request (500 naming it), and no run asks for it (`supacron run` needs none).
    CredentialCheck,
    /// Every function's run, the status function included.
    EveryFunction,
    /// The jobs that call the LLM ([`Job::calls_llm`]).
    LlmJobs,
    /// Only these jobs.
    Jobs(&'static [Job]),
    /// No function: the `supacron scheduler` command (which checks it itself).
    Scheduler,
}

impl ReadBy {
    /// Whether a run of `job` (`None`: the status function) reads the variable.
    pub fn includes(&self, job: Option<Job>) -> bool {
        match self {
            ReadBy::CredentialCheck | ReadBy::Scheduler => false,
            ReadBy::EveryFunction => true,
            ReadBy::LlmJobs => job.is_some_and(Job::calls_llm),
            ReadBy::Jobs(jobs) => job.is_some_and(|job| jobs.contains(&job)),
        }
    }
}

impl Var {
    /// Whether its value is a secret (held redacted, never logged or answered).
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, Kind::Secret { .. } | Kind::ServiceKey)
    }

    /// The declaration of `name`.
    pub fn named(name: &str) -> Option<&'static Var> {
        ALL.iter().copied().find(|var| var.name == name)
    }
}

/// Declares each variable as a `static` named like it, and [`ALL`] in this order.
macro_rules! declare {
    ($($ident:ident { $($field:ident: $value:expr),* $(,)? })*) => {
        $(
            #[allow(missing_docs)]
            pub static $ident: Var = Var { name: stringify!($ident), $($field: $value),* };
        )*
        /// Every variable, in the order of the docs table (and of the problems a message lists).
        pub static ALL: &[&Var] = &[$(&$ident),*];
    };
}

const WHOLE: Kind = Kind::Whole { cap: None };
const CAPPED_1000: Kind = Kind::Whole { cap: Some(1000) };

declare! {
    CRON_SECRET {
        kind: Kind::Secret { min_chars: super::MIN_SHARED_SECRET_CHARS },
        default: Default::None,
        need: Need::Required,
        read_by: ReadBy::CredentialCheck,
        doc: "The shared secret Vercel Cron sends as `Authorization: Bearer …`. Unset, empty or \
              shorter than 16 characters: every request is refused with 500 naming it. At least \
              16 random characters, no whitespace.",
    }
    INTERNAL_API_KEY {
        kind: Kind::Secret { min_chars: super::MIN_SHARED_SECRET_CHARS },
        default: Default::None,
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Outcomes, Job::Rewards]),
        doc: "The training scheduler's credential: the two training functions also accept it as \
              `x-internal-api-key` (set but unusable, e.g. with a trailing newline or shorter \
              than 16 characters: those two answer 500 naming it).",
    }
    SUPABASE_URL {
        kind: Kind::SupabaseUrl,
        default: Default::None,
        need: Need::Required,
        read_by: ReadBy::EveryFunction,
        doc: "`https://<ref>.supabase.co` (`/rest/v1` is appended), or any PostgREST base URL.",
    }
    SUPABASE_SERVICE_ROLE_KEY {
        kind: Kind::ServiceKey,
        default: Default::None,
        need: Need::Required,
        read_by: ReadBy::EveryFunction,
        doc: "A secret key (`sb_secret_…`, sent as `apikey` only) or the legacy `service_role` \
              JWT (sent as `apikey` and `Authorization: Bearer`). A publishable key is refused \
              with a clear error.",
    }
    MINIMAX_API_KEY {
        kind: Kind::Secret { min_chars: 0 },
        default: Default::None,
        need: Need::RequiredWithMinimax,
        read_by: ReadBy::LlmJobs,
        doc: "MiniMax API key.",
    }
    MINIMAX_BASE_URL {
        kind: Kind::Text,
        default: Default::Text(super::DEFAULT_MINIMAX_BASE_URL),
        need: Need::Optional,
        read_by: ReadBy::LlmJobs,
        doc: "MiniMax's OpenAI-compatible endpoint.",
    }
    MINIMAX_MODEL {
        kind: Kind::Text,
        default: Default::Text(super::DEFAULT_MINIMAX_MODEL),
        need: Need::Optional,
        read_by: ReadBy::LlmJobs,
        doc: "The MiniMax model.",
    }
    SUPACRON_LLM_PROVIDER {
        kind: Kind::Choice { choices: &["minimax", "offline"], ignore_case: false },
        default: Default::Text("minimax"),
        need: Need::Optional,
        read_by: ReadBy::LlmJobs,
        doc: "`offline` is a deterministic stand-in for local demos (its rows say \
              `model = 'offline'`). Never chosen because a key is missing.",
    }
    SUPACRON_TIME_BUDGET_SECS {
        kind: WHOLE,
        default: Default::Described("the function's `maxDuration` − 10 % (≥ 5 s kept for answering)"),
        need: Need::Optional,
        read_by: ReadBy::EveryFunction,
        doc: "Seconds a run may work. A deployed function never gets more than the default \
              (Vercel stops it at `maxDuration`); `supacron serve` / `run` take any value, and \
              the LLM jobs' lease follows it ([the lease](jobs/llm.md#the-lease)).",
    }
    SUPABASE_TIMEOUT_SECS {
        kind: WHOLE,
        default: Default::Whole(10),
        need: Need::Optional,
        read_by: ReadBy::EveryFunction,
        doc: "Timeout of one Supabase request, in seconds.",
    }
    MINIMAX_TIMEOUT_SECS {
        kind: WHOLE,
        default: Default::Whole(60),
        need: Need::Optional,
        read_by: ReadBy::LlmJobs,
        doc: "Timeout of one MiniMax call, in seconds.",
    }
    PATCH_BATCH_SIZE {
        kind: CAPPED_1000,
        default: Default::Whole(100),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Patch]),
        doc: "Patch jobs claimed per round trip.",
    }
    PATCH_CONFLICT_RETRIES {
        kind: WHOLE,
        default: Default::Whole(5),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Patch]),
        doc: "In-run retries of a patch job after a version conflict.",
    }
    PATCH_CONFLICT_BACKOFF_MS {
        kind: WHOLE,
        default: Default::Whole(80),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Patch]),
        doc: "The first conflict backoff in milliseconds (doubling, at most 5 s).",
    }
    REWARD_SPEED_WEIGHT {
        kind: Kind::Fraction,
        default: Default::Fraction(0.5),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Rewards]),
        doc: "How much resolution speed counts in a reward (see \
              [the reward function](jobs/training.md#the-reward-function)).",
    }
    REWARD_CONFIDENCE_WEIGHT {
        kind: Kind::Fraction,
        default: Default::Fraction(0.5),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Rewards]),
        doc: "How much the decision's confidence scales its reward (see \
              [the reward function](jobs/training.md#the-reward-function)).",
    }
    MINIMAX_MAX_TOKENS {
        kind: WHOLE,
        default: Default::Whole(2048),
        need: Need::Optional,
        read_by: ReadBy::LlmJobs,
        doc: "`max_tokens` of every MiniMax call, reasoning included.",
    }
    LLM_CONCURRENCY {
        kind: Kind::Whole { cap: Some(32) },
        default: Default::Whole(4),
        need: Need::Optional,
        read_by: ReadBy::LlmJobs,
        doc: "LLM calls in flight at once, per run.",
    }
    LLM_DAILY_TOKEN_BUDGET {
        kind: WHOLE,
        default: Default::Described("none: no cap"),
        need: Need::Optional,
        read_by: ReadBy::LlmJobs,
        doc: "Tokens (prompt + completion) each LLM job — memory and schedule, separately — may \
              spend per UTC day, enforced in the database across runs \
              ([the daily token budget](jobs/llm.md#the-daily-token-budget)). Set it well above \
              one call's worst case, `MINIMAX_MAX_TOKENS` + prompt characters / 2.",
    }
    MEMORY_MIN_NEW_MESSAGES {
        kind: WHOLE,
        default: Default::Whole(10),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Memory]),
        doc: "New messages a conversation needs before it is summarised.",
    }
    MEMORY_MAX_CONVERSATIONS_PER_RUN {
        kind: CAPPED_1000,
        default: Default::Whole(20),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Memory]),
        doc: "Conversations (= LLM calls) one memory run may pay for.",
    }
    MEMORY_MAX_MESSAGES {
        kind: CAPPED_1000,
        default: Default::Whole(50),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Memory]),
        doc: "New messages in one memory prompt; the rest wait for the next run.",
    }
    MEMORY_MAX_PROMPT_CHARS {
        kind: WHOLE,
        default: Default::Whole(16_000),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Memory]),
        doc: "Characters of messages in one memory prompt; the rest wait for the next run.",
    }
    SCHEDULE_MAX_TICKS_PER_RUN {
        kind: CAPPED_1000,
        default: Default::Whole(50),
        need: Need::Optional,
        read_by: ReadBy::Jobs(&[Job::Schedule]),
        doc: "Posts one schedule run may generate.",
    }
    SUPACRON_RUN_RETENTION_DAYS {
        kind: WHOLE,
        default: Default::Whole(30),
        need: Need::Optional,
        read_by: ReadBy::EveryFunction,
        doc: "Days of run history (`cron_runs`) kept; each run prunes its job's older rows.",
    }
    VERCEL_DEPLOYMENT_ID {
        kind: Kind::Text,
        default: Default::None,
        need: Need::Optional,
        read_by: ReadBy::Jobs(&Job::ALL),
        doc: "Set by Vercel: the deployment's id (a \
              [system environment variable](https://vercel.com/docs/environment-variables/system-environment-variables), \
              present when \"Automatically expose System Environment Variables\" is on, the \
              default). Recorded with each run; never set it yourself.",
    }
    API_BASE_URL {
        kind: Kind::Text,
        default: Default::None,
        need: Need::Optional,
        read_by: ReadBy::Scheduler,
        doc: "The training scheduler's name for `--target`: the deployment's base URL \
              (`https://my-app.vercel.app`). Set, each tick becomes `POST <url><path>?scheduled=1` \
              with `CRON_SECRET` (or `INTERNAL_API_KEY` for the training jobs) instead of an \
              in-process run ([self-hosting.md](self-hosting.md)). Unset: jobs run in-process.",
    }
    SUPACRON_PRIVATE_FUNCTIONS {
        kind: Kind::Jobs,
        default: Default::None,
        need: Need::Optional,
        read_by: ReadBy::Jobs(&Job::ALL),
        doc: "Jobs (names such as `memory`, or paths) whose function is a private Vercel Schedules \
              **function target**: `vercel.json` gives it `\"experimentalTriggers\": [{\"type\": \
              \"schedule/v1beta\"}]` and a `schedules` entry with `\"function\"`. Only these accept \
              Vercel's `ce-*` dispatch, which carries no secret; every other function refuses it \
              with 401. Never name a job whose trigger is missing: its function would be public \
              and run for anyone ([schedules.md](schedules.md#making-a-job-private-with-a-function-target)).",
    }
    SUPACRON_HEARTBEAT_URL {
        kind: Kind::SecretUrl,
        default: Default::None,
        need: Need::Optional,
        read_by: ReadBy::Jobs(&Job::ALL),
        doc: "Pinged after every scheduled run (Vercel Cron, Schedules, `supacron scheduler`) \
              with `{job}` replaced by the job's name and `{status}` by how it went: as a path \
              segment `/{status}` is dropped on success and `/fail` on failure (Healthchecks.io: \
              `https://hc-ping.com/<ping-key>/supacron-{job}/{status}`), elsewhere it is \
              `complete` or `fail` (Cronitor: `https://cronitor.link/p/<key>/supacron-{job}?state={status}`). \
              At most 3 s per run, never changes the answer ([operations.md](operations.md#heartbeats-and-alerts)).",
    }
    SUPACRON_ALERT_WEBHOOK_URL {
        kind: Kind::SecretUrl,
        default: Default::None,
        need: Need::Optional,
        read_by: ReadBy::Jobs(&Job::ALL),
        doc: "Slack-compatible incoming webhook (`{\"text\": …}`), posted once when a job turns red \
              (a failed run, a run that never finished, a missed tick seen by any later run) and \
              once when it recovers; incidents are recorded in `cron_incidents`, so overlapping \
              runs post once ([operations.md](operations.md#heartbeats-and-alerts)).",
    }
    SUPACRON_LOG {
        kind: Kind::Choice {
            choices: &["error", "warn", "info", "debug", "trace"],
            ignore_case: true,
        },
        default: Default::Text("info"),
        need: Need::Optional,
        read_by: ReadBy::EveryFunction,
        doc: "The most detailed level logged.",
    }
    SUPACRON_LOG_FORMAT {
        kind: Kind::Choice { choices: &["json", "pretty"], ignore_case: false },
        default: Default::Described("`json` for the functions; the `supacron` command: `pretty` on a terminal"),
        need: Need::Optional,
        read_by: ReadBy::EveryFunction,
        doc: "`json` (one object per line) or `pretty`.",
    }
}
