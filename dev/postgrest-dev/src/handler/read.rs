//! GET / HEAD on a relation (reference §4).

use axum::body::Body;
use axum::http::{Method, Response};

use crate::db;
use crate::error::ApiResult;
use crate::handler::Ctx;
use crate::prefer::Op;
use crate::query::canonical;
use crate::request::Media;
use crate::response::{Reply, check_singular, content_range, range_status};
use crate::sql::read::{ReadSpec, build};
use crate::sql::{BodyShape, Scope, Sql, qualified};

pub(crate) async fn read(ctx: &Ctx<'_>, name: &str) -> ApiResult<Response<Body>> {
    let api = ctx.api;
    let rel = ctx.state.schema.relation(&api.schema, name).await?;
    let (offset, limit) = ctx.window();
    let body = match (api.method == Method::HEAD, api.media) {
        (true, _) => BodyShape::Nothing,
        (false, Media::Json) => BodyShape::Array,
        (false, Media::Object { strip_nulls }) => BodyShape::Object { strip_nulls },
        (false, Media::Csv) => BodyShape::Csv,
    };
    let target = qualified(&rel.schema, &rel.name);
    let spec = ReadSpec {
        query: &api.query,
        limit,
        offset,
        count: api.prefs.count.is_some(),
        body,
        select_override: None,
    };
    let mut sql = Sql::default();
    build(
        &mut sql,
        &target,
        Scope {
            qualifier: &target,
            columns: &rel.columns,
        },
        &spec,
    );
    let media = api.media;
    let outcome = db::execute(&ctx.state.pool, &ctx.tx(true), &sql, |o| {
        check_singular(media, o.page_total)
    })
    .await?;

    let status = range_status(offset, outcome.page_total, outcome.total)?;
    let query = canonical(&api.pairs);
    let location = if query.is_empty() {
        api.path.clone()
    } else {
        format!("{}?{query}", api.path)
    };
    Reply::new(status)
        .header(
            "content-range",
            content_range(offset, outcome.page_total, outcome.total),
        )
        .header("content-location", location)
        .opt_header("preference-applied", api.prefs.applied(Op::Read))
        .json(outcome.body.clone().unwrap_or_default(), media)
        .finish(api, Some(&outcome))
}
