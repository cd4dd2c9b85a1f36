//! Sessions and what they allow: finding the session of a request (the cookie), the extractors
//! that demand one ([`User`] for pages, [`ApiUser`] for the API, [`Admin`] for account
//! management), CSRF checks (a form field, or the `X-CSRF-Token` header), refusing writes sent
//! from other sites, and the login and logout handlers with the login rate limit.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::error::{Api, Fail, Page};
use super::limiter::Keys;
use super::{DeskState, SESSION_COOKIE};
use crate::store::{Account, Role};

/// The person behind a request with a live session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The account.
    pub account: Account,
    /// The session's CSRF token.
    pub csrf: String,
    /// The cookie token (to end the session).
    token: String,
}

impl SessionUser {
    /// Whether `given` is this session's CSRF token (compared in constant time).
    pub fn csrf_ok(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }

    /// Whether the account is an admin.
    pub fn is_admin(&self) -> bool {
        self.account.role == Role::Admin
    }
}

/// The session found for a request, if any (put there by [`authenticate`]).
#[derive(Debug, Clone)]
struct Found(Option<SessionUser>);

/// Look up the session of the cookie (for every route but the assets and the health check).
pub async fn authenticate(
    State(state): State<DeskState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let needs = !(path.starts_with("/assets/") || path == "/healthz");
    let mut found = None;
    if needs {
        let jar = CookieJar::from_headers(req.headers());
        if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) {
            match state
                .store()
                .session(&token, state.config().session_idle)
                .await
            {
                Ok(Some(s)) => {
                    found = Some(SessionUser {
                        account: s.account,
                        csrf: s.csrf_token,
                        token,
                    })
                }
                Ok(None) => {}
                Err(e) => {
                    let api = req.uri().path().starts_with("/api/");
                    let fail = Fail::from(e);
                    return if api {
                        Api(fail).into_response()
                    } else {
                        Page(fail).into_response()
                    };
                }
            }
        }
    }
    req.extensions_mut().insert(Found(found));
    next.run(req).await
}

/// Refuse a write whose `Origin` (or `Sec-Fetch-Site`) says another site sent it: with the
/// `SameSite=Strict` cookie and the CSRF tokens, this also stops a forged login form.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if !is_safe(req.method()) && cross_site(req.headers()) {
        let fail = Fail::Forbidden("This form was sent from another site.");
        return if req.uri().path().starts_with("/api/") {
            Api(fail).into_response()
        } else {
            Page(fail).into_response()
        };
    }
    next.run(req).await
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the browser says another site sent this request. `Sec-Fetch-Site` decides when it
/// is there (only `same-origin`, or `none` for what the person typed, pass); else `Origin`
/// must name this host (`null`, a privacy-stripped or sandboxed origin, does not).
fn cross_site(h: &HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let (Some(origin), Some(host)) = (h.get(header::ORIGIN), h.get(header::HOST)) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("");
    let host = host.to_str().unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    !origin_host.eq_ignore_ascii_case(host)
}

fn found(parts: &Parts) -> Option<SessionUser> {
    parts.extensions.get::<Found>().and_then(|f| f.0.clone())
}

/// A page's viewer: a live session, or a redirect to the login page (back here afterwards).
#[derive(Debug, Clone)]
pub struct User(pub SessionUser);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match found(parts) {
            Some(u) => Ok(User(u)),
            None => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let to = if parts.method == Method::GET && here != "/" {
                    format!("/login?next={}", encode_component(here))
                } else {
                    "/login".to_string()
                };
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

/// The session, if there is one (pages that anyone may see, such as the login page).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<SessionUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(found(parts)))
    }
}

/// An admin's session; a reviewer gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub SessionUser);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let User(u) = User::from_request_parts(parts, s).await?;
        if u.is_admin() {
            Ok(Admin(u))
        } else {
            Err(Page(Fail::Forbidden("Only an admin can do this.")).into_response())
        }
    }
}

/// An API caller: a live session (else 401) and, for a write, its CSRF token in
/// `X-CSRF-Token` (else 403).
#[derive(Debug, Clone)]
pub struct ApiUser(pub SessionUser);

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Api;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let u = found(parts).ok_or(Api(Fail::Unauthorized))?;
        if !is_safe(&parts.method) {
            let given = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !u.csrf_ok(given) {
                return Err(Api(Fail::Forbidden("Missing or wrong X-CSRF-Token.")));
            }
        }
        Ok(ApiUser(u))
    }
}

/// A form with a CSRF token field.
pub trait HasCsrf {
    /// The `csrf` field.
    fn csrf(&self) -> &str;
}

/// A form body whose `csrf` field matched the session's token (else 403). Use after [`User`].
#[derive(Debug)]
pub struct Checked<T>(pub T);

impl<S, T> FromRequest<S> for Checked<T>
where
    S: Send + Sync,
    T: DeserializeOwned + HasCsrf + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        let user = req.extensions().get::<Found>().and_then(|f| f.0.clone());
        let Form(form) = Form::<T>::from_request(req, s)
            .await
            .map_err(|e| Page(Fail::Invalid(e.body_text())).into_response())?;
        match user {
            Some(u) if u.csrf_ok(form.csrf()) => Ok(Checked(form)),
            Some(_) => Err(Page(Fail::Forbidden(
                "This form has expired or was not sent by the desk; reload the page and try again.",
            ))
            .into_response()),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// The client's address, when the server knows it (the socket's peer).
fn client_address(parts: &axum::http::Extensions) -> String {
    parts
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `POST /login`: check the password (slowed after failures), start a session, set its cookie
/// and go to the page asked for.
pub async fn login(State(state): State<DeskState>, req: Request) -> Response {
    let address = client_address(req.extensions());
    let form = match Form::<LoginForm>::from_request(req, &state).await {
        Ok(Form(f)) => f,
        Err(e) => return Page(Fail::Invalid(e.body_text())).into_response(),
    };
    let keys = Keys::new(&form.username, &address);
    let limiter = &state.0.limiter;
    if let Err(wait) = limiter.check(&keys, Instant::now()) {
        return too_many(wait.as_secs().max(1), &form);
    }
    let verified = {
        let Ok(_permit) = state.0.password_checks.acquire().await else {
            return Page(Fail::Internal("password check gate closed".into())).into_response();
        };
        state
            .store()
            .verify_login(&form.username, &form.password)
            .await
    };
    let account = match verified {
        Ok(Some(a)) => a,
        Ok(None) => {
            limiter.failed(&keys, Instant::now());
            tracing::info!("login failed");
            return super::pages::login::failed(&form.username, form.next.as_deref())
                .into_response();
        }
        Err(e) => return Page(e.into()).into_response(),
    };
    limiter.succeeded(&keys);
    let session = match state
        .store()
        .create_session(&account, state.config().session_lifetime)
        .await
    {
        Ok(s) => s,
        Err(e) => return Page(e.into()).into_response(),
    };
    tracing::info!(account = account.id, "login");
    let cookie = Cookie::build((SESSION_COOKIE, session.token))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .build();
    let to = form
        .next
        .as_deref()
        .filter(|n| local_path(n))
        .unwrap_or("/");
    let mut res = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

fn too_many(secs: u64, form: &LoginForm) -> Response {
    let mut res = super::pages::login::limited(&form.username, secs).into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// A path on this site (`/...`, not `//host` or `/\host`), for the page after login.
fn local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains('\n')
}

/// The logout form: only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

impl HasCsrf for CsrfOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /logout`: end the session, clear the cookie.
pub async fn logout(
    State(state): State<DeskState>,
    User(user): User,
    Checked(_): Checked<CsrfOnly>,
) -> Result<Response, Page> {
    state.store().end_session(&user.token).await?;
    let mut gone = Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .build();
    gone.make_removal();
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&gone.to_string()) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// Percent-encode a query value (everything but unreserved characters).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_follow_a_login() {
        assert!(local_path("/messages/3?at=2"));
        assert!(!local_path("//evil.example/"));
        assert!(!local_path("/\\evil.example"));
        assert!(!local_path("https://evil.example/"));
    }

    #[test]
    fn cross_site_writes_are_seen() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8081"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&h));
        // The browser's own word wins: Chrome sends `Origin: null` with some referrer policies.
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(cross_site(&h));
    }
}
