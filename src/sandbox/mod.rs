//! The built-in sandbox: a local stand-in of the Feishu and Recruitee endpoints that hrlogs
//! calls, on 127.0.0.1, with deterministic sample data built from the vendors' documented
//! examples. It answers the way the vendors do: pagination, validation and error bodies.
//! `--sandbox` starts it inside the process; `hrlogs sandbox` serves it on its own.

mod feishu;
mod recruitee;
mod sample;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::settings::{Key, Value};
use crate::vendors::feishu::settings as feishu_keys;
use crate::vendors::recruitee::settings as recruitee_keys;

/// Credentials the sandbox accepts.
pub const APP_ID: &str = "cli_sandbox";
pub const APP_SECRET: &str = "sandbox-secret";
pub const COMPANY_ID: &str = "90598";
pub const API_TOKEN: &str = "sandbox-recruitee-token";

/// A sandbox serving in this process; stops when dropped.
pub struct Running {
    pub base: String,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    /// Settings that point every vendor at this sandbox.
    pub fn overrides(&self) -> Vec<(&'static Key, Value, &'static str)> {
        let plain = |s: &str| Value::Plain(s.to_string());
        let secret = |s: &str| Value::Secret(s.to_string().into());
        vec![
            (&feishu_keys::BASE_URL, plain(&self.base), "--sandbox"),
            (&feishu_keys::APP_ID, plain(APP_ID), "--sandbox"),
            (&feishu_keys::APP_SECRET, secret(APP_SECRET), "--sandbox"),
            (&recruitee_keys::BASE_URL, plain(&self.base), "--sandbox"),
            (&recruitee_keys::COMPANY_ID, plain(COMPANY_ID), "--sandbox"),
            (&recruitee_keys::API_TOKEN, secret(API_TOKEN), "--sandbox"),
        ]
    }
}

fn router() -> Router {
    let feishu = Arc::new(feishu::Feishu::new());
    let recruitee = Arc::new(recruitee::Recruitee::new());
    let feishu_routes = Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(feishu::token),
        )
        .route(
            "/open-apis/hire/v1/talent_operation_logs/search",
            post(feishu::talent_logs),
        )
        .route(
            "/open-apis/corehr/v2/departments/query_operation_logs",
            post(feishu::dept_logs),
        )
        .with_state(feishu);
    let recruitee_routes = Router::new()
        .route("/c/{company}/audit_log", get(recruitee::audit_log))
        .route("/c/{company}/candidates", get(recruitee::candidates))
        .route("/c/{company}/candidates/{id}", get(recruitee::candidate))
        .route(
            "/c/{company}/search/new/candidates",
            get(recruitee::search_candidates),
        )
        .route("/c/{company}/offers", get(recruitee::offers))
        .with_state(recruitee);
    feishu_routes.merge(recruitee_routes)
}

/// Starts the sandbox on 127.0.0.1 (`port`, or any free one).
pub async fn start(port: Option<u16>) -> Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
        .await
        .map_err(|e| {
            Error::input(format!(
                "sandbox: cannot listen on 127.0.0.1:{}: {e}",
                port.unwrap_or(0)
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::other(format!("sandbox: {e}")))?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router()).await;
    });
    Ok(Running {
        base: format!("http://{addr}"),
        task,
    })
}

/// `hrlogs sandbox`: serves until Ctrl-C.
pub async fn serve_forever(port: Option<u16>) -> Result<()> {
    let running = start(port).await?;
    let b = &running.base;
    eprintln!(
        "hrlogs sandbox: serving Feishu and Recruitee stand-ins at {b} (Ctrl-C to stop)\n\
         Point hrlogs at it with:\n  \
         export HRLOGS_FEISHU_BASE_URL={b} HRLOGS_FEISHU_APP_ID={APP_ID} HRLOGS_FEISHU_APP_SECRET={APP_SECRET}\n  \
         export HRLOGS_RECRUITEE_BASE_URL={b} HRLOGS_RECRUITEE_COMPANY_ID={COMPANY_ID} HRLOGS_RECRUITEE_API_TOKEN={API_TOKEN}"
    );
    std::future::pending::<()>().await;
    drop(running);
    Ok(())
}
