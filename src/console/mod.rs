//! The operator console: what the status page (`/api/cron/status`) does for an operator
//! signed in with `CRON_SECRET`, on that one function path, without scripts.
//!
//! - [`session`]: the signed session cookie and the CSRF token bound to it;
//! - [`actions`]: the form posts (sign-in, sign-out and the operator actions, each recorded
//!   in `console_actions` and idempotent per form);
//! - [`pages`]: the drill-down pages; [`main_page`]: what the main page adds;
//! - [`html`]: answers, forms and tables; [`form`]: the posted fields; [`store`]: the SQL.
//!
//! The status function ([`crate::function::status`]) routes to it. Only the status
//! function and `supacron serve` link it: the job binaries name none of it.

pub mod actions;
pub mod form;
pub mod html;
pub mod main_page;
pub mod pages;
pub mod session;
pub mod store;

use http::StatusCode;

pub use self::session::Session;
use crate::error::AppError;
use crate::function::{FunctionRequest, FunctionResponse};

/// A signed-in page's console: the session, its forms, and what the database says.
pub struct Console<'a> {
    /// Who is signed in.
    pub session: &'a Session,
    /// The forms of this page (CSRF token, way back).
    pub forms: html::Forms,
    /// The audit rows, the notice and the counts behind the buttons.
    pub overview: &'a store::Overview,
    /// The notice's form had been sent before (`?again=1`): nothing was done again.
    pub again: bool,
}

/// The answer to a request without a (valid) session: a browser gets the sign-in page as a
/// 401 (clearing a refused cookie and saying why), anyone else the API's 401.
#[allow(clippy::result_large_err)] // once per request; AppError is the crate's error type
pub fn refuse(
    request: &FunctionRequest,
    refused_cookie: bool,
) -> Result<FunctionResponse, AppError> {
    if !request.wants_html() {
        return Err(AppError::Unauthorized);
    }
    let notice = refused_cookie.then_some(
        "Your session has ended (it expired, you signed out, or CRON_SECRET changed): sign in again.",
    );
    let page = html::response(StatusCode::UNAUTHORIZED, html::sign_in_page(notice));
    Ok(if refused_cookie {
        let secure = !session::is_localhost(&request.headers);
        html::with_cookie(page, &session::clear_cookie(secure))
    } else {
        page
    })
}
