//! Access over HTTP: the authorization matrix (every role × every access level × every read and write front door,
//! SQL joins and subqueries included), applications and grants, sessions with CSRF, lock-out, password reset, key
//! revocation, rate limits (also two server processes sharing one budget), usage metering and the audit chain.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tapwater_app::{Actor, NewAccount};
use tapwater_types::Scope;

use crate::support::{TOKEN, TestApp, assert_error, generated_csv, spawn_with, tapwater_cli};

const LEVELS: [&str; 4] = ["public", "registered", "application", "restricted"];
const PASSWORD: &str = "correct horse battery";

/// The people of the matrix: name → (role, organisation).
const PEOPLE: [(&str, &str, Option<&str>); 7] = [
    ("site", "admin", None),
    ("orgadmin", "org-admin", Some("agency")),
    ("editor", "editor", Some("agency")),
    ("reviewer", "reviewer", Some("agency")),
    ("member", "member", Some("agency")),
    ("outsider", "editor", Some("other")),
    ("applicant", "member", Some("other")),
];

struct World {
    t: TestApp,
    /// name → publish-scope key; `name-read` → read-scope key.
    keys: HashMap<String, String>,
}

async fn world() -> World {
    let t = spawn_with(|c| c.access.notifier = tapwater_app::NotifierConfig::Log).await;
    for org in ["agency", "other"] {
        let response = t
            .client
            .post(t.url("/api/v1/organisations"))
            .bearer_auth(TOKEN)
            .json(&json!({"slug": org, "name": format!("{org} 機關")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let mut keys = HashMap::new();
    for (name, role, org) in PEOPLE {
        let account = NewAccount {
            email: format!("{name}@example.gov.tw"),
            password: Some(PASSWORD.to_string()),
            name: None,
            role: Some(role.to_string()),
            organisation: org.map(str::to_string),
        };
        t.app.create_account(&Actor::System, account).await.unwrap();
        for (suffix, scope) in [("", Scope::Publish), ("-read", Scope::Read)] {
            let email = format!("{name}@example.gov.tw");
            let key = t.app.create_api_key(&Actor::System, Some(&email), "matrix", scope).await.unwrap();
            keys.insert(format!("{name}{suffix}"), key.secret);
        }
    }
    for level in LEVELS {
        let (status, body) =
            t.create_dataset(json!({"slug": format!("d-{level}"), "publisher": "agency", "access": level})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["access"], level);
        for n in [5, 8] {
            let (status, body) = t.publish(&format!("d-{level}"), "data.csv", generated_csv(n)).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    World { t, keys }
}

impl World {
    async fn call(&self, who: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.t.client.request(method, self.t.url(path));
        if who == "admin-token" {
            request = request.bearer_auth(TOKEN);
        } else if who != "anonymous" {
            request = request.header("X-Api-Key", &self.keys[who]);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(who, reqwest::Method::GET, path, None).await
    }
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What a read of a dataset at `level` gives `who`: `Ok` or the error code.
fn expected_read(who: &str, level: &str) -> Result<(), &'static str> {
    match level {
        "public" => Ok(()),
        "registered" if who == "anonymous" => Err("key_required"),
        "registered" => Ok(()),
        "application" => match who {
            "anonymous" => Err("key_required"),
            "admin-token" | "site" | "orgadmin" | "editor" | "reviewer" | "member" => Ok(()),
            _ => Err("application_required"),
        },
        _ => Err("restricted_dataset"),
    }
}

fn status_of(code: &str) -> StatusCode {
    match code {
        "key_required" | "unauthorized" => StatusCode::UNAUTHORIZED,
        _ => StatusCode::FORBIDDEN,
    }
}

#[tokio::test]
async fn the_authorization_matrix_holds_for_every_role_level_and_front_door() {
    let w = world().await;
    let mut whos: Vec<&str> = vec!["anonymous", "admin-token"];
    whos.extend(PEOPLE.iter().map(|p| p.0));
    let mut checked = 0;
    for level in LEVELS {
        let slug = format!("d-{level}");
        let join = url_encode(&format!("SELECT count(*) AS n FROM data JOIN \"{slug}\" x ON x.id = data.id"));
        let subquery = url_encode(&format!("SELECT count(*) AS n FROM data WHERE id IN (SELECT id FROM \"{slug}\")"));
        let cte = url_encode(&format!("WITH s AS (SELECT * FROM \"{slug}\") SELECT count(*) AS n FROM s"));
        let reads = [
            format!("/api/v1/datasets/{slug}/rows?_limit=2"),
            format!("/api/v1/datasets/{slug}/rows?_version=1"),
            format!("/api/v1/datasets/{slug}/aggregate?_group=district"),
            format!("/api/v1/datasets/{slug}/sql?q={}", url_encode("SELECT count(*) AS n FROM data")),
            format!("/api/v1/datasets/{slug}/download?format=csv"),
            format!("/api/v1/datasets/{slug}/download?format=original"),
            format!("/api/v1/datasets/{slug}/download?format=parquet&_version=1"),
            // Reaching the dataset from a public one: a join, a subquery, a CTE.
            format!("/api/v1/datasets/d-public/sql?q={join}"),
            format!("/api/v1/datasets/d-public/sql?q={subquery}"),
            format!("/api/v1/datasets/d-public/sql?q={cte}"),
        ];
        for who in &whos {
            let expected = expected_read(who, level);
            for path in &reads {
                let (status, body) = w.get(who, path).await;
                match expected {
                    Ok(()) => assert_eq!(status, StatusCode::OK, "{who} {path}: {body}"),
                    Err(code) => {
                        assert_error(status, &body, status_of(code), code);
                    }
                }
                checked += 1;
            }
            // Metadata stays visible to everyone; statistics (values of the data) only to those who may read rows.
            let (status, detail) = w.get(who, &format!("/api/v1/datasets/{slug}")).await;
            assert_eq!(status, StatusCode::OK, "{who} {slug}: {detail}");
            assert_eq!(detail["access"], level);
            let stats = detail["current_version"]["stats"].as_array().map(Vec::len).unwrap_or(0);
            assert_eq!(stats > 0, expected.is_ok(), "{who} {slug} statistics: {detail}");
            let (status, v1) = w.get(who, &format!("/api/v1/datasets/{slug}/versions/1")).await;
            assert_eq!(status, StatusCode::OK, "{v1}");
            assert_eq!(v1["stats"].as_array().map(Vec::len).unwrap_or(0) > 0, expected.is_ok(), "{who} {v1}");
            checked += 2;
        }
    }

    // Writes: editing metadata needs editor or org-admin of the organisation (or a site admin), and a publish key.
    let writers = [
        ("anonymous", Err("unauthorized")),
        ("admin-token", Ok(())),
        ("site", Ok(())),
        ("orgadmin", Ok(())),
        ("editor", Ok(())),
        ("editor-read", Err("insufficient_scope")),
        ("reviewer", Err("forbidden")),
        ("member", Err("forbidden")),
        ("outsider", Err("forbidden")),
        ("applicant", Err("forbidden")),
    ];
    for (who, expected) in writers {
        let (status, body) =
            w.call(who, reqwest::Method::PATCH, "/api/v1/datasets/d-public", Some(json!({"title": who}))).await;
        match expected {
            Ok(()) => assert_eq!(status, StatusCode::OK, "{who}: {body}"),
            Err(code) => {
                assert_error(status, &body, status_of(code), code);
            }
        }
        let publish =
            w.t.client
                .post(w.t.url("/api/v1/datasets/d-public/versions?filename=x.csv"))
                .body(generated_csv(3))
                .header("X-Api-Key", w.keys.get(who).cloned().unwrap_or_default());
        let publish = if who == "admin-token" { publish.bearer_auth(TOKEN) } else { publish };
        let publish =
            if who == "anonymous" { w.t.client.post(w.t.url("/api/v1/datasets/d-public/versions")) } else { publish };
        let response = publish.send().await.unwrap();
        assert_eq!(response.status().is_success(), expected.is_ok(), "{who} publish: {}", response.status());
        checked += 2;
    }
    // The access level needs org-admin: an editor may edit but not open or close a dataset.
    for (who, ok) in [("editor", false), ("reviewer", false), ("orgadmin", true), ("site", true)] {
        let (status, body) = w
            .call(who, reqwest::Method::PUT, "/api/v1/datasets/d-public/access", Some(json!({"access": "registered"})))
            .await;
        if ok {
            assert_eq!(status, StatusCode::OK, "{body}");
            w.call(who, reqwest::Method::PUT, "/api/v1/datasets/d-public/access", Some(json!({"access": "public"})))
                .await;
        } else {
            assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
        }
    }
    // Creating a dataset in another organisation is refused; in one's own it works.
    let (status, body) = w
        .call("editor", reqwest::Method::POST, "/api/v1/datasets", Some(json!({"slug": "mine", "publisher": "agency"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = w
        .call(
            "editor",
            reqwest::Method::POST,
            "/api/v1/datasets",
            Some(json!({"slug": "theirs", "publisher": "other"})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert!(checked > 400, "{checked} checks");
}

#[tokio::test]
async fn drafts_are_invisible_outside_their_organisation() {
    let w = world().await;
    let (status, body) = w
        .call(
            "editor",
            reqwest::Method::POST,
            "/api/v1/datasets",
            Some(json!({"slug": "draft-one", "publisher": "agency", "draft": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (who, visible) in
        [("anonymous", false), ("outsider", false), ("member", true), ("editor", true), ("site", true)]
    {
        let (status, _) = w.get(who, "/api/v1/datasets/draft-one").await;
        assert_eq!(status == StatusCode::OK, visible, "{who}");
        let (_, list) = w.get(who, "/api/v1/datasets?limit=100").await;
        let listed = list["datasets"].as_array().unwrap().iter().any(|d| d["slug"] == "draft-one");
        assert_eq!(listed, visible, "{who} list");
    }
    // Releasing it is an access change: org admins only.
    let (status, body) = w
        .call(
            "editor",
            reqwest::Method::PUT,
            "/api/v1/datasets/draft-one/access",
            Some(json!({"access": "public", "draft": false})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = w
        .call(
            "orgadmin",
            reqwest::Method::PUT,
            "/api/v1/datasets/draft-one/access",
            Some(json!({"access": "public", "draft": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(w.get("anonymous", "/api/v1/datasets/draft-one").await.0, StatusCode::OK);
}

#[tokio::test]
async fn applications_are_decided_by_reviewers_and_grants_expire_or_are_revoked() {
    let w = world().await;
    let rows = "/api/v1/datasets/d-application/rows?_limit=1";
    assert_error_code(w.get("applicant", rows).await, StatusCode::FORBIDDEN, "application_required");
    // Applying to a public dataset makes no sense; a purpose is required.
    let (status, body) = w
        .call(
            "applicant",
            reqwest::Method::POST,
            "/api/v1/datasets/d-public/applications",
            Some(json!({"purpose": "research on garbage"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_parameter");
    let (status, body) = w
        .call(
            "applicant",
            reqwest::Method::POST,
            "/api/v1/datasets/d-application/applications",
            Some(json!({"purpose": "short"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_parameter");
    let (status, application) = w
        .call(
            "applicant",
            reqwest::Method::POST,
            "/api/v1/datasets/d-application/applications",
            Some(json!({"purpose": "高雄市垃圾車路線研究 / route research"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{application}");
    assert_eq!(application["status"], "pending");
    let id = application["id"].as_str().unwrap().to_string();
    let decision = format!("/api/v1/applications/{id}/decision");
    // Neither the applicant nor an outsider nor a plain member decides; a reviewer does.
    for who in ["applicant", "outsider", "member"] {
        let (status, body) = w.call(who, reqwest::Method::POST, &decision, Some(json!({"decision": "approve"}))).await;
        assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "{who}: {body}");
    }
    let (status, body) =
        w.call("reviewer", reqwest::Method::POST, &decision, Some(json!({"decision": "reject"}))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_parameter");
    let (_, listed) = w.get("reviewer", "/api/v1/datasets/d-application/applications").await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let (status, approved) = w
        .call("reviewer", reqwest::Method::POST, &decision, Some(json!({"decision": "approve", "expires_at": until})))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    let (status, again) =
        w.call("reviewer", reqwest::Method::POST, &decision, Some(json!({"decision": "approve"}))).await;
    assert_error(status, &again, StatusCode::CONFLICT, "application_decided");
    let (status, body) = w.get("applicant", rows).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, mine) = w.get("applicant", "/api/v1/me/applications").await;
    assert_eq!(mine[0]["status"], "approved");
    // Revoked: refused again at once.
    let (status, body) = w
        .call(
            "orgadmin",
            reqwest::Method::POST,
            &decision,
            Some(json!({"decision": "revoke", "reason": "purpose fulfilled"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_error_code(w.get("applicant", rows).await, StatusCode::FORBIDDEN, "application_required");

    // Every step and every read of the dataset is in the audit log, with who, version, query and rows.
    let (status, entries) = w.get("admin-token", "/api/v1/audit?limit=10000").await;
    assert_eq!(status, StatusCode::OK, "{entries}");
    let entries = entries.as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["application.submitted", "application.approved", "application.revoked", "access.denied", "read.rows"]
    {
        assert!(actions.contains(&action), "{action} missing in {actions:?}");
    }
    let read = entries
        .iter()
        .find(|e| e["action"] == "read.rows" && e["actor"].as_str().unwrap().contains("applicant"))
        .expect("the applicant's read is audited");
    assert_eq!(read["dataset"], "d-application");
    assert_eq!(read["version"], 2);
    assert_eq!(read["row_count"], 1);
    assert_eq!(read["query"], "_limit=1");
    // The organisation's admins export their datasets' entries, as CSV too; others may not.
    let (status, csv) = w.get("orgadmin", "/api/v1/audit?organisation=agency&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.as_str().unwrap().starts_with("seq,at,actor,action"), "{csv}");
    assert_error_code(w.get("editor", "/api/v1/audit?organisation=agency").await, StatusCode::FORBIDDEN, "forbidden");
    assert_error_code(w.get("orgadmin", "/api/v1/audit").await, StatusCode::FORBIDDEN, "forbidden");
}

fn assert_error_code((status, body): (StatusCode, Value), want: StatusCode, code: &str) {
    assert_error(status, &body, want, code);
}

/// A browser: keeps the session cookie it was given (reqwest's cookie store is a feature tapwater does not build).
struct Browser {
    client: reqwest::Client,
    cookie: std::sync::Mutex<Option<String>>,
}

impl Browser {
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
        csrf: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, url);
        if let Some(cookie) = self.cookie.lock().unwrap().clone() {
            request = request.header("Cookie", cookie);
        }
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
            let pair = set.split(';').next().unwrap().to_string();
            *self.cookie.lock().unwrap() = if pair.ends_with('=') { None } else { Some(pair) };
        }
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

#[tokio::test]
async fn sessions_need_csrf_lock_out_after_failures_and_reset_by_token() {
    let t = spawn_with(|c| {
        c.access.notifier = tapwater_app::NotifierConfig::Outbox(c.data_dir.join("outbox"));
    })
    .await;
    let b = Browser { client: reqwest::Client::new(), cookie: std::sync::Mutex::new(None) };
    let post_json = |path: &str, body: Value| (t.url(path), body);
    let (url, body) = post_json("/api/v1/auth/signup", json!({"email": "Ana@Example.org", "password": "short"}));
    let (status, body) = b.send(reqwest::Method::POST, &url, Some(body), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_password");
    let signup = json!({"email": "Ana@Example.org", "password": PASSWORD, "name": "安娜"});
    let (status, session) = b.send(reqwest::Method::POST, &t.url("/api/v1/auth/signup"), Some(signup), None).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["user"]["email"], "ana@example.org");
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    let again = json!({"email": "ana@example.org", "password": PASSWORD});
    let (status, body) = b.send(reqwest::Method::POST, &t.url("/api/v1/auth/signup"), Some(again), None).await;
    assert_error(status, &body, StatusCode::CONFLICT, "user_exists");

    // The cookie signs reads in; writes also need the CSRF token.
    let (status, me) = b.send(reqwest::Method::GET, &t.url("/api/v1/me"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["csrf_token"], csrf.as_str());
    let new_key = json!({"name": "notebook"});
    let (status, body) = b.send(reqwest::Method::POST, &t.url("/api/v1/me/keys"), Some(new_key.clone()), None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "csrf_failed");
    let (status, body) =
        b.send(reqwest::Method::POST, &t.url("/api/v1/me/keys"), Some(new_key.clone()), Some("forged")).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "csrf_failed");
    let (status, key) = b.send(reqwest::Method::POST, &t.url("/api/v1/me/keys"), Some(new_key), Some(&csrf)).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    assert!(key["secret"].as_str().unwrap().starts_with("tw_"));
    assert!(key["secret"].as_str().unwrap().starts_with(key["prefix"].as_str().unwrap()));
    let (_, listed) = b.send(reqwest::Method::GET, &t.url("/api/v1/me/keys"), None, None).await;
    assert_eq!(listed[0]["prefix"], key["prefix"]);
    assert!(listed[0].get("secret").is_none(), "{listed}");
    // Sign-out ends the session on the server, and the cookie is cleared.
    let saved = b.cookie.lock().unwrap().clone();
    let (status, _) = b.send(reqwest::Method::POST, &t.url("/api/v1/auth/signout"), None, Some(&csrf)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(b.cookie.lock().unwrap().is_none());
    *b.cookie.lock().unwrap() = saved;
    let (status, _) = b.send(reqwest::Method::GET, &t.url("/api/v1/me"), None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old cookie no longer signs in");
    // A stale cookie does not stop reading public data, nor signing in again.
    let (status, _) = b.send(reqwest::Method::GET, &t.url("/api/v1/datasets"), None, None).await;
    assert_eq!(status, StatusCode::OK);

    // Five wrong passwords lock the account; the right one is refused while locked.
    let signin =
        |password: &str| (t.url("/api/v1/auth/signin"), json!({"email": "ana@example.org", "password": password}));
    for attempt in 1..=5 {
        let (url, body) = signin("wrong password!");
        let (status, body) = b.send(reqwest::Method::POST, &url, Some(body), None).await;
        let want = if attempt < 5 {
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        } else {
            (StatusCode::TOO_MANY_REQUESTS, "account_locked")
        };
        assert_error(status, &body, want.0, want.1);
    }
    let locked = t
        .client
        .post(t.url("/api/v1/auth/signin"))
        .json(&json!({"email": "ana@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 800 && retry <= 900, "{retry}");
    // An unknown email answers like a wrong password.
    let (status, body) =
        post(&t.client, &t.url("/api/v1/auth/signin"), json!({"email": "nobody@example.org", "password": PASSWORD}))
            .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_credentials");

    // A reset by token lifts the lock; the token works once.
    let (status, _) = post(&t.client, &t.url("/api/v1/auth/password-reset"), json!({"email": "ana@example.org"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) =
        post(&t.client, &t.url("/api/v1/auth/password-reset"), json!({"email": "nobody@example.org"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "no account enumeration");
    let outbox: Vec<_> = std::fs::read_dir(t.data_dir().join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(outbox.len(), 1, "one message, to the account that exists");
    let message = std::fs::read_to_string(&outbox[0]).unwrap();
    assert!(message.starts_with("To: ana@example.org"), "{message}");
    let token = message.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let confirm = t.url("/api/v1/auth/password-reset/confirm");
    let new_password = "a much better passphrase";
    let (status, body) = post(&t.client, &confirm, json!({"token": token, "password": new_password})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = post(&t.client, &confirm, json!({"token": token, "password": "yet another passphrase"})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_token");
    let (status, body) =
        post(&t.client, &t.url("/api/v1/auth/signin"), json!({"email": "ana@example.org", "password": new_password}))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> (StatusCode, Value) {
    let response = client.post(url).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once_and_usage_is_metered() {
    let w = world().await;
    let (status, _) = w.get("member", "/api/v1/datasets/d-registered/rows?_limit=3").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w.get("member", "/api/v1/datasets/d-registered/download?format=csv").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    w.t.app.flush_usage().await.unwrap();
    let (status, usage) = w.get("member", "/api/v1/me/usage").await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    let row = usage.as_array().unwrap().iter().find(|r| r["dataset"] == "d-registered").expect("usage recorded");
    assert_eq!(row["requests"], 2, "{usage}");
    assert_eq!(row["rows"], 3 + 8, "{usage}");
    assert!(row["bytes"].as_u64().unwrap() > 100, "{usage}");
    let (_, keys) = w.get("member", "/api/v1/me/keys").await;
    let used = keys.as_array().unwrap().iter().find(|k| !k["last_used_at"].is_null());
    assert!(used.is_some(), "last use recorded: {keys}");

    let key_id =
        keys.as_array().unwrap().iter().find(|k| k["scope"] == "publish").unwrap()["id"].as_str().unwrap().to_string();
    let (status, revoked) = w.call("member", reqwest::Method::DELETE, &format!("/api/v1/me/keys/{key_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(!revoked["revoked_at"].is_null());
    let (status, body) = w.get("member", "/api/v1/datasets/d-registered/rows").await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_api_key");
    // A made-up key is refused the same way, not treated as anonymous.
    let response =
        w.t.client
            .get(w.t.url("/api/v1/datasets/d-public/rows"))
            .header("X-Api-Key", "tw_nope_nope")
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_callers_get_429_with_retry_after_and_keys_have_their_own_budget() {
    let t = spawn_with(|c| {
        c.access.rate_limits.enabled = true;
        c.access.rate_limits.anonymous = tapwater_app::Rate::parse("5/min").unwrap();
        c.access.rate_limits.registered = tapwater_app::Rate::parse("8/min").unwrap();
        c.access.rate_limits.backend = tapwater_app::LimiterBackend::Memory;
    })
    .await;
    let url = t.url("/api/v1/licenses");
    for i in 0..5 {
        let response = t.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
        assert_eq!(response.headers()["ratelimit-limit"], "5");
        assert_eq!(response.headers()["ratelimit-remaining"].to_str().unwrap(), (4 - i).to_string());
    }
    let refused = t.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // A key has its own bucket; the admin token none.
    t.app
        .create_account(
            &Actor::System,
            NewAccount { email: "dev@example.org".into(), password: None, name: None, role: None, organisation: None },
        )
        .await
        .unwrap();
    let key = t.app.create_api_key(&Actor::System, Some("dev@example.org"), "", Scope::Read).await.unwrap().secret;
    let response = t.client.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["ratelimit-limit"], "8");
    let response = t.client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("ratelimit-limit").is_none());
}

/// Two `tapwater serve` processes on one catalog share one budget (on PostgreSQL by default; on SQLite with
/// `--rate-limit-store catalog`).
#[tokio::test]
async fn two_server_processes_share_one_rate_limit() {
    let t = spawn_with(|_| {}).await;
    let mut servers = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        let child = tapwater_cli(&t)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--admin-token", "x", "--scheduler", "off"])
            .args(["--rate-anonymous", "10/min", "--rate-limit-store", "catalog"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        servers.push((KillOnDrop(child), format!("http://127.0.0.1:{port}")));
    }
    for (_, base) in &servers {
        wait_up(&t.client, base).await;
    }
    let (mut ok, mut limited) = (0, 0);
    for i in 0..20 {
        let base = &servers[i % 2].1;
        let response = t.client.get(format!("{base}/api/v1/licenses")).send().await.unwrap();
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // /healthz was not counted; at 10/min the buckets refill one token per 6 s, so at most one more gets through.
    assert!((10..=11).contains(&ok), "{ok} admitted across two processes");
    assert_eq!(ok + limited, 20);
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_up(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not come up");
}

#[tokio::test]
async fn audit_verify_finds_an_edited_entry() {
    let w = world().await;
    for _ in 0..3 {
        assert_eq!(w.get("member", "/api/v1/datasets/d-application/rows?_limit=2").await.0, StatusCode::OK);
    }
    let verify = tapwater_cli(&w.t).args(["audit", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("intact"));
    let (_, check) = w.get("admin-token", "/api/v1/audit/verify").await;
    assert_eq!(check["intact"], true, "{check}");
    let (_, entries) = w.get("admin-token", "/api/v1/audit?limit=10000").await;
    let target =
        entries.as_array().unwrap().iter().rev().find(|e| e["action"] == "read.rows").unwrap()["seq"].as_i64().unwrap();

    // Someone with database access hides how many rows they read.
    let url = w.t.config.database_url.clone().unwrap_or_else(|| w.t.config.catalog_url());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE audit_log SET row_count = 0 WHERE seq = $1").bind(target).execute(&pool).await.unwrap();
    pool.close().await;

    let verify = tapwater_cli(&w.t).args(["audit", "verify"]).output().unwrap();
    assert!(!verify.status.success());
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(stderr.contains(&format!("entry {target}")) && stderr.contains("audit_chain_broken"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let (_, check) = w.get("admin-token", "/api/v1/audit/verify").await;
    assert_eq!(check["first_broken"], target, "{check}");

    let export = tapwater_cli(&w.t).args(["audit", "export", "--format", "json"]).output().unwrap();
    assert!(export.status.success());
    let exported: Vec<Value> = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(exported.len(), entries.as_array().unwrap().len());
}

#[tokio::test]
async fn operator_cli_creates_users_keys_and_sets_access() {
    let t = spawn_with(|_| {}).await;
    t.publish_new("stops", "stops.csv", generated_csv(4)).await;
    let mut create = tapwater_cli(&t)
        .args(["admin", "create-user", "boss@city.gov.tw", "--role", "admin", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    create.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let created = create.wait_with_output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let bad = tapwater_cli(&t).args(["admin", "create-user", "x@city.gov.tw", "--role", "editor"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--org"), "{}", String::from_utf8_lossy(&bad.stderr));
    let key =
        tapwater_cli(&t).args(["admin", "create-key", "boss@city.gov.tw", "--scope", "publish"]).output().unwrap();
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
    let set = tapwater_cli(&t).args(["datasets", "set-access", "stops", "restricted"]).output().unwrap();
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let bad = tapwater_cli(&t).args(["datasets", "set-access", "stops", "secret"]).output().unwrap();
    assert!(!bad.status.success());
    // The site administrator's key works and even it reads no restricted rows.
    let response = t.client.get(t.url("/api/v1/datasets/stops/rows")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let me: Value = t.client.get(t.url("/api/v1/me")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["site_admin"], true, "{me}");
    // Signing in with the password given on standard input works.
    let client = reqwest::Client::new();
    let (status, _) =
        post(&client, &t.url("/api/v1/auth/signin"), json!({"email": "boss@city.gov.tw", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::OK);
}

/// Two servers with buckets in Redis share one budget. Runs when `TAPWATER_TEST_REDIS_URL` names a Redis server
/// (CI sets it); skipped, with a note, otherwise.
#[tokio::test]
async fn two_servers_share_one_rate_limit_through_redis() {
    let Ok(redis) = std::env::var("TAPWATER_TEST_REDIS_URL") else {
        eprintln!("TAPWATER_TEST_REDIS_URL not set: the Redis rate-limit test is skipped");
        return;
    };
    let configure = |c: &mut tapwater_app::Config| {
        c.access.rate_limits.enabled = true;
        // Per second, so what an earlier run left in Redis has refilled by the time this one starts.
        c.access.rate_limits.anonymous = tapwater_app::Rate::parse("5/s").unwrap();
        c.access.rate_limits.backend = tapwater_app::LimiterBackend::Redis(redis.clone());
    };
    let a = spawn_with(configure).await;
    let b = spawn_with(configure).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (mut ok, mut limited) = (0, 0);
    for i in 0..10 {
        let server = if i % 2 == 0 { &a } else { &b };
        let response = server.client.get(server.url("/api/v1/licenses")).send().await.unwrap();
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(response.headers().contains_key("retry-after"));
                limited += 1
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!((5..=6).contains(&ok), "{ok} admitted across two servers");
    assert_eq!(ok + limited, 10);
}

/// Plays an SMTP server (RFC 5321, no TLS: a local relay) and hands over the DATA of each message.
async fn fake_smtp() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn password_reset_links_can_go_out_by_smtp() {
    let (port, mut mails) = fake_smtp().await;
    let notifier =
        tapwater_app::NotifierConfig::parse(&format!("smtp://127.0.0.1:{port}?from=noreply@city.gov.tw")).unwrap();
    assert!(tapwater_app::NotifierConfig::parse("smtp://127.0.0.1:25").is_err(), "a sender is required");
    let t = spawn_with(move |c| c.access.notifier = notifier).await;
    t.app
        .create_account(
            &Actor::System,
            NewAccount { email: "ana@example.org".into(), password: None, name: None, role: None, organisation: None },
        )
        .await
        .unwrap();
    let (status, _) = post(&t.client, &t.url("/api/v1/auth/password-reset"), json!({"email": "ana@example.org"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mail = tokio::time::timeout(Duration::from_secs(10), mails.recv()).await.unwrap().unwrap();
    assert!(mail.contains("To: ana@example.org"), "{mail}");
    assert!(mail.contains("From: noreply@city.gov.tw"), "{mail}");
    assert!(mail.contains("reset-password?token="), "{mail}");
}
