//! The status page: one self-contained HTML document (inline CSS and SVG; no scripts,
//! fonts, images or links to anywhere), readable on a phone.
//!
//! Every value that comes from the database goes through [`escape`], including job names
//! and error texts, so a `last_error` containing markup is shown as text. The markup is
//! also well-formed XML (every element closed, attributes quoted), which the tests check
//! with an XML parser. The function answers it with a Content-Security-Policy that
//! forbids scripts, as a second line of defence.
//!
//! For a signed-in console session ([`Console`]) the page also carries the operator's
//! forms and links (sign out, run now, requeue, clear a lock, retry, the drill-downs); for a
//! request that came with the secret itself it stays read-only, with no form or link.

use std::fmt::Write;

use super::health::{Level, Tile, ago, duration, first_line};
use super::{Report, timeline};
use crate::console::{Console, main_page};

/// `text` with `& < > " '` replaced by entities: safe in element content and in quoted
/// attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root{--green:#1a7f37;--amber:#9a6700;--red:#cf222e;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;padding:1rem;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:60rem;margin:0 auto}
h1{font-size:1.4rem;margin:0 0 .2rem}
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.meta{color:var(--muted);margin:0 0 1rem}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:.75rem}
.tile{background:#fff;border:1px solid var(--line);border-left:.45rem solid var(--green);border-radius:.5rem;padding:.6rem .8rem}
.tile.amber{border-left-color:var(--amber)}
.tile.red{border-left-color:var(--red)}
.tile h3{margin:0;font-size:1.05rem;display:flex;justify-content:space-between;gap:.5rem}
.badge{font-size:.75rem;font-weight:600;text-transform:uppercase;padding:.05rem .45rem;border-radius:1rem;color:#fff;background:var(--green)}
.amber .badge{background:var(--amber)}
.red .badge{background:var(--red)}
.tile p{margin:.2rem 0;color:var(--muted);font-size:.85rem}
.tile ul{margin:.3rem 0 0;padding-left:1.1rem}
.tile li{overflow-wrap:anywhere}
.panel{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.6rem}
.panel{overflow-x:auto}
.timeline{width:100%;min-width:34rem;height:auto;display:block}
.timeline .lane{fill:#eef1f4}
.timeline .label{font-size:12px;text-anchor:end;fill:var(--ink)}
.timeline .axis{font-size:10px;fill:var(--muted)}
.timeline .grid{stroke:var(--line);stroke-width:1}
.ok,.running{fill:var(--green)}
.partial,.skipped{fill:#d4a72c}
.error{fill:var(--red)}
.legend{color:var(--muted);font-size:.8rem;margin:.4rem 0 0}
.legend span{display:inline-block;width:.7rem;height:.7rem;border-radius:.15rem;margin:0 .25rem 0 .6rem;vertical-align:-.05rem}
.legend .ok{background:var(--green)}
.legend .partial{background:#d4a72c}
.legend .error{background:var(--red)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.85rem}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.text,th.text{text-align:left;white-space:normal;overflow-wrap:anywhere;min-width:14rem}
.warn{color:var(--red);font-weight:600}
footer{color:var(--muted);font-size:.8rem;margin:1.5rem 0 0}
code{font-size:.85em}
a{color:#0969da}
.bar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between;margin:0 0 1rem;color:var(--muted);font-size:.85rem}
.notice{background:#ddf4ff;border:1px solid #54aeff;border-radius:.5rem;padding:.5rem .75rem;margin:0 0 1rem;overflow-wrap:anywhere}
.notice.bad{background:#ffebe9;border-color:#ff8182}
form.act{margin:.4rem 0 0}
form.inline{display:inline-block;margin:.3rem .3rem 0 0}
button{font:inherit;font-size:.85rem;padding:.3rem .75rem;min-height:2.25rem;border:1px solid var(--line);border-radius:.4rem;background:#f6f8fa;color:var(--ink);cursor:pointer}
button:hover{background:#eef1f4}
.signin{max-width:24rem;display:flex;flex-direction:column;gap:.5rem}
.signin input{font:inherit;padding:.5rem;border:1px solid var(--line);border-radius:.4rem}
.actions{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center;margin:.4rem 0 0;font-size:.85rem}
.ops{list-style:none;padding:0;margin:0}
.ops li{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.5rem .75rem;margin:0 0 .5rem;overflow-wrap:anywhere}
.pager{color:var(--muted);font-size:.85rem}
dl.fields{display:grid;grid-template-columns:minmax(7rem,max-content) 1fr;gap:.2rem .8rem;background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.6rem;margin:0}
dl.fields dt{color:var(--muted)}
dl.fields dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem;margin:.3rem 0 0}
";

/// A whole page: the document shell with `title` and `body` (markup) inside `<main>`.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <meta name=\"robots\" content=\"noindex\"/>\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// The whole page for `report` and its `tiles`; with `console`, the operator's forms too.
pub fn render(report: &Report, tiles: &[Tile], console: Option<&Console>) -> String {
    let now = report.generated_at;
    let mut out = String::with_capacity(64 * 1024);
    let count = |level: Level| tiles.iter().filter(|t| t.level == level).count();
    let _ = write!(
        out,
        "<h1>supacron status</h1><p class=\"meta\">{} UTC · {} red · {} amber · {} green</p>",
        now.format("%Y-%m-%d %H:%M:%S"),
        count(Level::Red),
        count(Level::Amber),
        count(Level::Green)
    );
    if let Some(console) = console {
        out.push_str(&main_page::top(console));
    }
    out.push_str("<section class=\"tiles\">");
    for tile in tiles {
        write_tile(&mut out, report, tile, console);
    }
    out.push_str("</section>");

    let jobs: Vec<String> = tiles.iter().map(|t| t.job.clone()).collect();
    let runs = report.timeline.as_deref().unwrap_or(&[]);
    let _ = write!(
        out,
        "<h2>Last 24 hours</h2><div class=\"panel\">{}<p class=\"legend\">one mark per run:\
         <span class=\"ok\"></span>ok<span class=\"partial\"></span>partial / skipped\
         <span class=\"error\"></span>failed · a gap is a missed tick · times in UTC</p></div>",
        timeline::svg(&jobs, runs, now)
    );
    write_queues(&mut out, report);
    write_llm_spend(&mut out, report);
    match console {
        Some(console) => {
            out.push_str(&main_page::dead_jobs(console, report));
            out.push_str(&main_page::operations(console, report));
            out.push_str(&main_page::recent_actions(console));
        }
        None => write_dead_jobs(&mut out, report),
    }
    out.push_str(
        "<footer>The same data as JSON: request this URL without <code>Accept: text/html</code>. ",
    );
    out.push_str(if console.is_some() {
        "Every action here is recorded in <code>console_actions</code>.</footer>"
    } else {
        "To act from this page (requeue dead jobs, clear an expired lock, run a job now), \
         open it without credentials and sign in with CRON_SECRET.</footer>"
    });
    document("supacron status", &out)
}

fn write_tile(out: &mut String, report: &Report, tile: &Tile, console: Option<&Console>) {
    let summary = report.cron_run_summary.iter().find(|s| s.job == tile.job);
    let level = tile.level.as_str();
    let _ = write!(
        out,
        "<article class=\"tile {level}\" data-job=\"{job}\" data-level=\"{level}\">\
         <h3><span>{job}</span><span class=\"badge\">{level}</span></h3>",
        job = escape(&tile.job)
    );
    if let Some(s) = summary {
        let ms = |v: Option<i64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
        let _ = write!(
            out,
            "<p><code>{}</code> · {} runs, {} failed in 24 h · p50 {} · p95 {}</p>\
             <p>last success {}</p>",
            escape(s.schedule.as_deref().unwrap_or("no schedule")),
            s.runs_24h,
            s.failures_24h,
            ms(s.p50_duration_ms_24h),
            ms(s.p95_duration_ms_24h),
            ago(s.last_success_at, report.generated_at)
        );
    }
    out.push_str("<ul>");
    for reason in &tile.reasons {
        let _ = write!(out, "<li>{}</li>", escape(reason));
    }
    out.push_str("</ul>");
    if let Some(console) = console {
        out.push_str(&main_page::tile_actions(console, &tile.job));
    }
    out.push_str("</article>");
}

fn write_queues(out: &mut String, report: &Report) {
    out.push_str(
        "<h2>Queues</h2><div class=\"scroll\"><table><thead><tr><th>work</th><th>pending</th>\
         <th>due</th><th>processing</th><th>expired leases</th><th>failed</th><th>dead</th>\
         <th>oldest due</th></tr></thead><tbody>",
    );
    for q in &report.queue_health {
        let flag = |n: i64| {
            if n > 0 {
                format!("<td class=\"warn\">{n}</td>")
            } else {
                format!("<td>{n}</td>")
            }
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td>{}<td>{}</td></tr>",
            escape(&q.job),
            q.pending,
            q.due,
            q.processing,
            flag(q.expired_leases),
            q.failed,
            flag(q.dead),
            q.oldest_due_age_seconds.map_or("-".to_string(), duration)
        );
    }
    out.push_str("</tbody></table></div>");
}

fn write_llm_spend(out: &mut String, report: &Report) {
    if report.llm_spend.is_empty() {
        return;
    }
    out.push_str(
        "<h2>LLM spend</h2><div class=\"scroll\"><table><thead><tr><th>job</th>\
         <th>calls, 24 h</th><th>unusable</th><th>prompt tokens</th><th>completion tokens</th>\
         <th class=\"text\">today (UTC)</th></tr></thead><tbody>",
    );
    for spend in &report.llm_spend {
        let today = match &spend.today {
            None => "no daily budget".to_string(),
            Some(t) => {
                let cap = t.cap_tokens.map_or("-".to_string(), |c| c.to_string());
                let reached = t.cap_reached_at.map_or(String::new(), |at| {
                    format!(
                        " · <span class=\"warn\">budget reached {} UTC: work waits for tomorrow</span>",
                        at.format("%H:%M")
                    )
                });
                format!(
                    "{} of {cap} tokens ({} reserved){reached}",
                    t.spent_tokens, t.reserved_tokens
                )
            }
        };
        let flag = |n: i64| {
            if n > 0 {
                format!("<td class=\"warn\">{n}</td>")
            } else {
                format!("<td>{n}</td>")
            }
        };
        let _ = write!(
            out,
            "<tr data-job=\"{job}\"><td>{job}</td><td>{}</td>{}<td>{}</td><td>{}</td><td class=\"text\">{today}</td></tr>",
            spend.llm_calls_24h,
            flag(spend.unusable_calls_24h),
            spend.prompt_tokens_24h,
            spend.completion_tokens_24h,
            job = escape(&spend.job),
        );
    }
    out.push_str("</tbody></table></div>");
}

fn write_dead_jobs(out: &mut String, report: &Report) {
    out.push_str("<h2>Latest dead patch jobs</h2>");
    if report.dead_jobs.is_empty() {
        out.push_str("<p class=\"meta\">None.</p>");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>id</th><th>kind</th><th>attempts</th>\
         <th>when</th><th class=\"text\">last_error</th></tr></thead><tbody>",
    );
    for job in &report.dead_jobs {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
            job.id,
            escape(job.error_kind.as_deref().unwrap_or("-")),
            job.attempts,
            ago(job.finished_at, report.generated_at),
            escape(&first_line(job.last_error.as_deref().unwrap_or("")))
        );
    }
    out.push_str("</tbody></table></div>");
}
