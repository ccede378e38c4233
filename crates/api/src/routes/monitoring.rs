//! `GET /models/{name}/monitoring`: is the model still seeing the data it
//! was trained on? Drift per feature and for the predictions, from counts.

use api_types::{Monitoring, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::models::NamedModel;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::gate::GateLayer;
use crate::monitor::Window;
use crate::state::AppState;

/// Behind the admin key, when one is set: the counters move with every
/// prediction, so an observer could read what a keyed client sent.
pub(super) fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(monitoring)).route_layer(GateLayer::operator_reads(state))
}

/// Which counts to read.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct WindowQuery {
    /// `last_hour` (the default) or `since_start` (since this version loaded).
    window: Option<String>,
}

/// The population stability index (PSI) of each feature and of the
/// predictions, live rows against the training rows' profile, with the
/// usual reading (under 0.1 stable, to 0.25 moderate, over that
/// significant), the shares missing and out of range, and every bin's
/// shares; features most drifted first. Only counts: no row is kept.
#[utoipa::path(
    get,
    path = "/models/{name}/monitoring",
    tag = "models",
    params(("name" = String, Path, description = "The model's name"), WindowQuery),
    responses(
        (status = 200, description = "Drift over the window", body = Monitoring),
        (status = 400, description = "An unknown window", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "ADMIN_KEY is set and the request lacks it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A query parameter given twice", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The model ships no reference profile (or monitoring is off)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn monitoring(
    NamedModel(model): NamedModel,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<ApiJson<Monitoring>, ApiError> {
    let window = match query.window.as_deref() {
        None | Some("last_hour") => Window::LastHour,
        Some("since_start") => Window::SinceStart,
        Some(other) => {
            return Err(ApiError::MalformedBody(format!(
                "window {:?} is not one of last_hour, since_start",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    let monitor = model.monitor().map_err(|reason| ApiError::NotMonitored {
        model: model.card().name.clone(),
        reason: reason.to_owned(),
    })?;
    Ok(ApiJson(monitor.report(model.card(), window)))
}
