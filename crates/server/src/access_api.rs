//! Handlers of accounts and access: sign-up, sign-in, sign-out and password reset (`/auth/…`), the caller's own
//! account, keys, applications and usage (`/me/…`), users and organisations (`/users`, `/organisations/…`), access
//! levels and applications of datasets, and the audit log (`/audit`). Each translates HTTP to one application-layer
//! call; every decision is made there.

use axum::Json;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use tapwater_app::{
    AUDIT_CSV_HEADER, AppError, CreatedKey, Decision, Member, NewAccount, NewSession, SessionView, SignUp, Tapwater,
    audit_csv_record,
};
use tapwater_types::{AccessApplication, ApiKey, AuditEntry, Dataset, DatasetPatch, Publisher, Role, Scope, User};

use crate::api::{json_body, parse_number};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Ctx, param, query_pairs};
use crate::gate::{SESSION_COOKIE, cookie};
use crate::negotiate::csv_attachment;

/// The routes of this module, merged into `/api/v1`.
pub fn routes() -> axum::Router<Tapwater> {
    axum::Router::new()
        .route("/auth/signup", post(sign_up))
        .route("/auth/signin", post(sign_in))
        .route("/auth/signout", post(sign_out))
        .route("/auth/password-reset", post(request_reset))
        .route("/auth/password-reset/confirm", post(confirm_reset))
        .route("/me", get(me))
        .route("/me/keys", get(list_keys).post(create_key))
        .route("/me/keys/{id}", delete(revoke_key))
        .route("/me/applications", get(my_applications))
        .route("/me/usage", get(my_usage))
        .route("/users", get(list_users).post(create_user))
        .route("/organisations", get(list_organisations).post(create_organisation))
        .route("/organisations/{slug}/members", get(list_members))
        .route("/organisations/{slug}/members/{email}", put(put_member).delete(delete_member))
        .route("/datasets/{slug}/access", put(put_access))
        .route("/datasets/{slug}/applications", get(dataset_applications).post(apply))
        .route("/applications/{id}", get(get_application))
        .route("/applications/{id}/decision", post(decide))
        .route("/audit", get(audit_log))
        .route("/audit/verify", get(audit_verify))
}

/// `Set-Cookie` for a new session: HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site posts),
/// Secure when configured.
fn session_cookie(app: &Tapwater, session: &NewSession) -> HeaderValue {
    let max_age = app.config().access.session_ttl.as_secs();
    let secure = if secure_cookie(app) { "; Secure" } else { "" };
    let value =
        format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}", session.token);
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

fn secure_cookie(app: &Tapwater) -> bool {
    app.config().access.cookie_secure || app.config().access.public_url.starts_with("https://")
}

fn cleared_cookie(app: &Tapwater) -> HeaderValue {
    let secure = if secure_cookie(app) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .unwrap_or(HeaderValue::from_static(""))
}

fn with_session(app: &Tapwater, status: StatusCode, session: NewSession) -> Response {
    let cookie = session_cookie(app, &session);
    let mut response = (status, Json(session.view)).into_response();
    response.headers_mut().insert(SET_COOKIE, cookie);
    response
}

// ------------------------------------------------------------------------------------------------ sign-in

/// Email and password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    email: String,
    password: String,
}

/// Create an account (open unless the server closed sign-up) and sign in: sets the session cookie and returns the
/// CSRF token to send as `X-CSRF-Token` on state-changing requests.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts", request_body = SignUp,
    responses((status = 201, body = SessionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn sign_up(State(app): State<Tapwater>, ctx: Ctx, request: Request) -> Result<Response, ApiError> {
    let input: SignUp = json_body(&ctx, request, &app).await?;
    let session = app.sign_up(&ctx.actor, input).await.map_err(|e| ctx.err(e))?;
    Ok(with_session(&app, StatusCode::CREATED, session))
}

/// Sign in with email and password. After 5 failures in a row the account is locked for 15 minutes (429
/// `account_locked`, with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/signin", tag = "accounts", request_body = SignIn,
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in(State(app): State<Tapwater>, ctx: Ctx, request: Request) -> Result<Response, ApiError> {
    let input: SignIn = json_body(&ctx, request, &app).await?;
    let session = app.sign_in(&input.email, &input.password).await.map_err(|e| ctx.err(e))?;
    Ok(with_session(&app, StatusCode::OK, session))
}

/// End the session (needs its CSRF token) and clear the cookie.
#[utoipa::path(post, path = "/api/v1/auth/signout", tag = "accounts",
    responses((status = 204, description = "Signed out"), (status = 403, body = ErrorBody)))]
pub async fn sign_out(State(app): State<Tapwater>, ctx: Ctx, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        app.sign_out(token).await.map_err(|e| ctx.err(e))?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, cleared_cookie(&app));
    Ok(response)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    email: String,
}

/// Ask for a password-reset link, sent through the server's notifier. Always 202, whether or not the email has an
/// account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "accounts", request_body = ResetRequest,
    responses((status = 202, description = "If the account exists, a link is on its way")))]
pub async fn request_reset(State(app): State<Tapwater>, ctx: Ctx, request: Request) -> Result<Response, ApiError> {
    let input: ResetRequest = json_body(&ctx, request, &app).await?;
    app.request_password_reset(&input.email).await.map_err(|e| ctx.err(e))?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({"status": "sent_if_known"}))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetConfirm {
    token: String,
    password: String,
}

/// Set a new password with the token from the link; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "accounts", request_body = ResetConfirm,
    responses((status = 204, description = "Password set"), (status = 400, body = ErrorBody)))]
pub async fn confirm_reset(State(app): State<Tapwater>, ctx: Ctx, request: Request) -> Result<Response, ApiError> {
    let input: ResetConfirm = json_body(&ctx, request, &app).await?;
    app.confirm_password_reset(&input.token, &input.password).await.map_err(|e| ctx.err(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------------------------------------ me

/// The signed-in user (by session or API key), with memberships; for a session also its CSRF token.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
pub async fn me(State(app): State<Tapwater>, ctx: Ctx, headers: HeaderMap) -> Result<Json<SessionView>, ApiError> {
    let view = app.me(&ctx.actor, cookie(&headers, SESSION_COOKIE)).await.map_err(|e| ctx.err(e))?;
    Ok(Json(view))
}

/// The caller's API keys (never the secrets).
#[utoipa::path(get, path = "/api/v1/me/keys", tag = "accounts",
    responses((status = 200, body = [ApiKey]), (status = 401, body = ErrorBody)))]
pub async fn list_keys(State(app): State<Tapwater>, ctx: Ctx) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(app.list_api_keys(&ctx.actor).await.map_err(|e| ctx.err(e))?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewKey {
    #[serde(default)]
    name: String,
    /// `read` (default) or `publish`.
    #[serde(default)]
    scope: Option<String>,
}

/// Create an API key. The answer holds the whole key once (`secret`); tapwater keeps only its hash.
#[utoipa::path(post, path = "/api/v1/me/keys", tag = "accounts", request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_key(State(app): State<Tapwater>, ctx: Ctx, request: Request) -> Result<Response, ApiError> {
    let input: NewKey = json_body(&ctx, request, &app).await?;
    let scope = parse_scope(input.scope.as_deref()).map_err(|e| ctx.err(e))?;
    let key = app.create_api_key(&ctx.actor, None, &input.name, scope).await.map_err(|e| ctx.err(e))?;
    Ok((StatusCode::CREATED, Json(key)).into_response())
}

pub(crate) fn parse_scope(value: Option<&str>) -> Result<Scope, AppError> {
    match value {
        None | Some("") => Ok(Scope::Read),
        Some(v) => Scope::parse(v).ok_or_else(|| {
            AppError::invalid(
                "invalid_parameter",
                "scope",
                format!("scope is read or publish, not \"{v}\"."),
                format!("scope 只能是 read 或 publish，而不是「{v}」。"),
            )
        }),
    }
}

/// Revoke one of the caller's keys; it stops working at once, on every server.
#[utoipa::path(delete, path = "/api/v1/me/keys/{id}", tag = "accounts",
    params(("id" = String, Path, description = "Key id")),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(app.revoke_api_key(&ctx.actor, &id).await.map_err(|e| ctx.err(e))?))
}

/// The caller's access applications, newest first.
#[utoipa::path(get, path = "/api/v1/me/applications", tag = "access",
    responses((status = 200, body = [AccessApplication]), (status = 401, body = ErrorBody)))]
pub async fn my_applications(State(app): State<Tapwater>, ctx: Ctx) -> Result<Json<Vec<AccessApplication>>, ApiError> {
    Ok(Json(app.my_applications(&ctx.actor).await.map_err(|e| ctx.err(e))?))
}

/// Usage per day and dataset.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UsageView {
    day: String,
    /// `key:<id>`, `user:<id>` (browser sessions) or `anonymous`.
    subject: String,
    dataset: String,
    requests: u64,
    rows: u64,
    bytes: u64,
}

/// The caller's usage (all their keys and sessions) per day and dataset, from `since` (default: 30 days ago).
/// Counted in memory and written every few seconds, so the last seconds may not show yet. Site administrators
/// see everyone's with `all=1`.
#[utoipa::path(get, path = "/api/v1/me/usage", tag = "accounts",
    params(("since" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
        ("all" = Option<String>, Query, description = "`1`: everyone's (site administrators)")),
    responses((status = 200, body = [UsageView]), (status = 401, body = ErrorBody)))]
pub async fn my_usage(State(app): State<Tapwater>, ctx: Ctx, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let default_since = (chrono::Utc::now() - chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    let since = param(&pairs, "since").unwrap_or(&default_since);
    let everyone = matches!(param(&pairs, "all"), Some("1" | "true"));
    let rows = app.usage(&ctx.actor, since, everyone).await.map_err(|e| ctx.err(e))?;
    let view: Vec<UsageView> = rows
        .into_iter()
        .map(|r| UsageView {
            day: r.day,
            subject: r.subject,
            dataset: r.dataset,
            requests: r.requests,
            rows: r.rows,
            bytes: r.bytes,
        })
        .collect();
    Ok(Json(view).into_response())
}

// ------------------------------------------------------------------------------------------------ administration

/// Every account (site administrators).
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = [User]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(app): State<Tapwater>, ctx: Ctx) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(app.list_users(&ctx.actor).await.map_err(|e| ctx.err(e))?))
}

/// Create an account (site administrators), optionally as site admin (`role: admin`) or with a role in an
/// organisation.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewAccount,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_user(State(app): State<Tapwater>, ctx: Ctx, request: Request) -> Result<Response, ApiError> {
    let input: NewAccount = json_body(&ctx, request, &app).await?;
    let user = app.create_account(&ctx.actor, input).await.map_err(|e| ctx.err(e))?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// Every organisation (agency).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "accounts", responses((status = 200, body = [Publisher])))]
pub async fn list_organisations(State(app): State<Tapwater>, ctx: Ctx) -> Result<Json<Vec<Publisher>>, ApiError> {
    Ok(Json(app.list_organisations().await.map_err(|e| ctx.err(e))?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewOrganisation {
    slug: String,
    #[serde(default)]
    name: String,
}

/// Create an organisation (site administrators).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "accounts", request_body = NewOrganisation,
    responses((status = 201, body = Publisher), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_organisation(
    State(app): State<Tapwater>,
    ctx: Ctx,
    request: Request,
) -> Result<Response, ApiError> {
    let input: NewOrganisation = json_body(&ctx, request, &app).await?;
    let org = app.create_organisation(&ctx.actor, &input.slug, &input.name).await.map_err(|e| ctx.err(e))?;
    Ok((StatusCode::CREATED, Json(org)).into_response())
}

/// Members of an organisation and their roles (its org admins, site administrators).
#[utoipa::path(get, path = "/api/v1/organisations/{slug}/members", tag = "accounts",
    params(("slug" = String, Path, description = "Organisation slug")),
    responses((status = 200, body = [Member]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(app.members(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MemberRole {
    /// `member`, `reviewer`, `editor` or `org-admin`.
    role: String,
}

/// Give a user a role in the organisation (org admins, site administrators).
#[utoipa::path(put, path = "/api/v1/organisations/{slug}/members/{email}", tag = "accounts", request_body = MemberRole,
    params(("slug" = String, Path, description = "Organisation slug"), ("email" = String, Path, description = "User")),
    responses((status = 204, description = "Role set"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_member(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path((slug, email)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let input: MemberRole = json_body(&ctx, request, &app).await?;
    let role = Role::parse(&input.role).ok_or_else(|| {
        ctx.err(AppError::invalid(
            "invalid_parameter",
            "role",
            format!("role is member, reviewer, editor or org-admin, not \"{}\".", input.role),
            format!("role 只能是 member、reviewer、editor 或 org-admin，而不是「{}」。", input.role),
        ))
    })?;
    app.set_member(&ctx.actor, &slug, &email, role).await.map_err(|e| ctx.err(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Remove a user from the organisation.
#[utoipa::path(delete, path = "/api/v1/organisations/{slug}/members/{email}", tag = "accounts",
    params(("slug" = String, Path, description = "Organisation slug"), ("email" = String, Path, description = "User")),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_member(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path((slug, email)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    app.remove_member(&ctx.actor, &slug, &email).await.map_err(|e| ctx.err(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------------------------------------ access

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AccessChange {
    /// `public`, `registered`, `application` or `restricted`.
    access: String,
    /// `false` releases a draft.
    #[serde(default)]
    draft: Option<bool>,
}

/// Set a dataset's access level (the owning organisation's org admins, site administrators).
#[utoipa::path(put, path = "/api/v1/datasets/{slug}/access", tag = "access", request_body = AccessChange,
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = Dataset), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_access(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Json<Dataset>, ApiError> {
    let input: AccessChange = json_body(&ctx, request, &app).await?;
    let patch = DatasetPatch { access: Some(input.access), draft: input.draft, ..DatasetPatch::default() };
    Ok(Json(app.update_dataset(&ctx.actor, &slug, patch).await.map_err(|e| ctx.err(e))?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Application {
    /// What the data will be used for, 10–5000 characters.
    purpose: String,
}

/// Apply for access to an `application`-level dataset (signed-in users).
#[utoipa::path(post, path = "/api/v1/datasets/{slug}/applications", tag = "access", request_body = Application,
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 201, body = AccessApplication), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn apply(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let input: Application = json_body(&ctx, request, &app).await?;
    let application = app.apply_for_access(&ctx.actor, &slug, &input.purpose).await.map_err(|e| ctx.err(e))?;
    Ok((StatusCode::CREATED, Json(application)).into_response())
}

/// Applications for a dataset (its organisation's reviewers and org admins).
#[utoipa::path(get, path = "/api/v1/datasets/{slug}/applications", tag = "access",
    params(("slug" = String, Path, description = "Dataset slug")),
    responses((status = 200, body = [AccessApplication]), (status = 403, body = ErrorBody)))]
pub async fn dataset_applications(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Json<Vec<AccessApplication>>, ApiError> {
    Ok(Json(app.dataset_applications(&ctx.actor, &slug).await.map_err(|e| ctx.err(e))?))
}

/// One application (its applicant, and those who decide it).
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "access",
    params(("id" = String, Path, description = "Application id")),
    responses((status = 200, body = AccessApplication), (status = 404, body = ErrorBody)))]
pub async fn get_application(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<AccessApplication>, ApiError> {
    Ok(Json(app.application(&ctx.actor, &id).await.map_err(|e| ctx.err(e))?))
}

/// Approve (optionally until `expires_at`), reject or revoke an application, with a reason for the applicant.
#[utoipa::path(post, path = "/api/v1/applications/{id}/decision", tag = "access", request_body = Decision,
    params(("id" = String, Path, description = "Application id")),
    responses((status = 200, body = AccessApplication), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`application_decided`: already decided")))]
pub async fn decide(
    State(app): State<Tapwater>,
    ctx: Ctx,
    Path(id): Path<String>,
    request: Request,
) -> Result<Json<AccessApplication>, ApiError> {
    let input: Decision = json_body(&ctx, request, &app).await?;
    Ok(Json(app.decide_application(&ctx.actor, &id, input).await.map_err(|e| ctx.err(e))?))
}

// ------------------------------------------------------------------------------------------------ audit

/// The audit log, oldest first: entries after `after` (default 0), at most `limit` (default 1000, at most 10000).
/// Site administrators see all; with `organisation`, that organisation's admins see the entries about its datasets.
/// `format=csv` for a spreadsheet.
#[utoipa::path(get, path = "/api/v1/audit", tag = "access",
    params(("after" = Option<i64>, Query, description = "Last sequence number already seen"),
        ("limit" = Option<i64>, Query, description = "Entries, 1–10000"),
        ("organisation" = Option<String>, Query, description = "Only this organisation's datasets"),
        ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, body = [AuditEntry]), (status = 403, body = ErrorBody)))]
pub async fn audit_log(State(app): State<Tapwater>, ctx: Ctx, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let after: i64 = parse_number(param(&pairs, "after"), "after").map_err(|e| ctx.err(e))?.unwrap_or(0);
    let limit: i64 = parse_number(param(&pairs, "limit"), "limit").map_err(|e| ctx.err(e))?.unwrap_or(1000);
    let organisation = param(&pairs, "organisation").filter(|o| !o.is_empty());
    let entries = app.audit_entries(&ctx.actor, organisation, after, limit).await.map_err(|e| ctx.err(e))?;
    match param(&pairs, "format") {
        None | Some("json") => Ok(Json(entries).into_response()),
        Some("csv") => {
            csv_attachment(&AUDIT_CSV_HEADER, entries.iter().map(audit_csv_record), "tapwater-audit.csv", false)
                .map_err(|e| ctx.err(e))
        }
        Some(other) => Err(ctx.err(AppError::invalid(
            "invalid_format",
            "format",
            format!("format is json or csv, not \"{other}\"."),
            format!("format 只能是 json 或 csv，而不是「{other}」。"),
        ))),
    }
}

/// Whether the audit chain is intact.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditCheck {
    intact: bool,
    entries: u64,
    /// The first entry that does not fit the chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_broken: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Walk the audit chain and report the first entry that was edited, removed or inserted (site administrators).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "access",
    responses((status = 200, body = AuditCheck), (status = 403, body = ErrorBody)))]
pub async fn audit_verify(State(app): State<Tapwater>, ctx: Ctx) -> Result<Json<AuditCheck>, ApiError> {
    let verdict = app.verify_audit(&ctx.actor).await.map_err(|e| ctx.err(e))?;
    Ok(Json(AuditCheck {
        intact: verdict.first_broken.is_none(),
        entries: verdict.entries,
        first_broken: verdict.first_broken.as_ref().map(|(seq, _)| *seq),
        reason: verdict.first_broken.map(|(_, why)| why),
    }))
}
