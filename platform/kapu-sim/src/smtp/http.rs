//! The HTTP API over the received messages and the hold switch.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::store::{ReceivedMessage, ReceivedSummary, Store};

/// The answer of `GET /held`, `POST /hold` and `POST /release`.
#[derive(Serialize)]
struct HoldState {
    /// Whether finished transactions are being held.
    holding: bool,
    /// How many transactions are waiting for their reply now.
    held: usize,
}

pub(crate) fn router(store: Store) -> Router {
    Router::new()
        .route("/messages", get(list).delete(clear))
        .route("/messages/{id}", get(message))
        .route("/messages/{id}/raw", get(raw))
        .route("/hold", post(hold))
        .route("/release", post(release))
        .route("/held", get(held))
        .with_state(store)
}

async fn list(State(store): State<Store>) -> Json<Vec<ReceivedSummary>> {
    Json(store.summaries())
}

async fn message(State(store): State<Store>, Path(id): Path<u64>) -> Result<Json<ReceivedMessage>, StatusCode> {
    store.message(id).map(Json).ok_or(StatusCode::NOT_FOUND)
}

async fn raw(State(store): State<Store>, Path(id): Path<u64>) -> Response {
    match store.raw(id) {
        Some(raw) => ([(header::CONTENT_TYPE, "message/rfc822")], raw.to_vec()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn clear(State(store): State<Store>) -> StatusCode {
    store.clear();
    StatusCode::NO_CONTENT
}

fn hold_state(store: &Store) -> Json<HoldState> {
    Json(HoldState { holding: store.holding(), held: store.held() })
}

async fn hold(State(store): State<Store>) -> Json<HoldState> {
    store.set_hold(true);
    hold_state(&store)
}

async fn release(State(store): State<Store>) -> Json<HoldState> {
    store.set_hold(false);
    hold_state(&store)
}

async fn held(State(store): State<Store>) -> Json<HoldState> {
    hold_state(&store)
}
