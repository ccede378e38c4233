//! The pages a user sees, built from the real API's cards.

use api_types::ModelList;

use crate::helpers::{spawn_stack, spawn_with_stand_in};

#[tokio::test]
async fn the_home_page_lists_every_model_with_a_link_to_its_form() {
    let ui = spawn_stack().await;

    let page = ui.get_home().await;

    assert_eq!(page.status, 200);
    let links: Vec<String> = page
        .select(".models h2 a")
        .iter()
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(
        links,
        [
            "/models/cancer",
            "/models/cars",
            "/models/diabetes",
            "/models/diabetes-trees",
            "/models/iris",
            "/models/penguins",
            "/models/wine"
        ]
    );
    assert!(page.text(".models").contains("classification"));
    assert!(page.text(".models").contains("regression"));
}

#[tokio::test]
async fn a_long_list_of_models_is_shown_a_page_at_a_time_with_links_between_pages() {
    let page_of = |offset: usize| {
        let models: Vec<serde_json::Value> = (offset..(offset + 100).min(250))
            .map(|i| serde_json::json!({"name": format!("m{i:03}"), "title": format!("Model {i}"), "description": "", "task": "regression", "version": "1", "features": 3, "classes": 0, "card_source": "inferred"}))
            .collect();
        serde_json::json!({"default_model": "m000", "total": 250, "failure_count": 0, "offset": offset, "limit": 100, "models": models, "failures": []})
    };
    let api = axum::Router::new().route(
        "/models",
        axum::routing::get(move |axum::extract::RawQuery(query): axum::extract::RawQuery| async move {
            let offset = query.and_then(|q| q.strip_prefix("offset=")?.parse().ok()).unwrap_or(0);
            axum::Json(page_of(offset))
        }),
    );
    let ui = spawn_with_stand_in(api).await;

    let first = ui.get_home().await;
    let last = ui.fetch_path("/?offset=200").await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.select(".models h2 a").len(), 100);
    assert_eq!(first.text("nav.pages p"), "Models 1–100 of 250");
    assert_eq!(first.attr("nav.pages a[rel=next]", "href").as_deref(), Some("/?offset=100"));
    assert!(first.select("nav.pages a[rel=prev]").is_empty());
    assert_eq!(last.select(".models h2 a").len(), 50);
    assert_eq!(last.text("nav.pages p"), "Models 201–250 of 250");
    assert_eq!(last.attr("nav.pages a[rel=prev]", "href").as_deref(), Some("/?offset=100"));
    assert!(last.select("nav.pages a[rel=next]").is_empty());
}

#[tokio::test]
async fn every_models_form_has_one_labelled_control_per_feature_with_the_cards_ranges() {
    let ui = spawn_stack().await;
    let list: ModelList =
        reqwest::get(format!("{}/models", ui.api_url)).await.expect("API").json().await.expect("list");

    for summary in &list.models {
        let details: api_types::ModelDetails =
            reqwest::get(format!("{}/models/{}", ui.api_url, summary.name))
                .await
                .expect("API")
                .json()
                .await
                .expect("card");
        let card = &details.card;
        let page = ui.get_model_form(&card.name).await;

        assert_eq!(page.status, 200, "{}", card.name);
        assert_eq!(page.text("h1"), card.title);
        let controls = page.select("form.predict-form input, form.predict-form select");
        assert_eq!(controls.len(), card.features.len(), "{}", card.name);
        for f in &card.features {
            let id = format!("f-{}", f.name);
            let control = page.one(&format!("#{id}"));
            assert_eq!(control.value().attr("name"), Some(f.name.as_str()));
            assert!(
                page.text(&format!("label[for='{id}']")).contains(&f.label),
                "{}: label for {}",
                card.name,
                f.name
            );
            let described = control.value().attr("aria-describedby").unwrap_or_default();
            assert!(described.contains(&format!("h-{}", f.name)), "{}: help not linked", f.name);
            if f.choices.is_some() || f.categories.is_some() {
                assert_eq!(control.value().name(), "select", "{} should be a select", f.name);
            } else {
                assert_eq!(control.value().attr("type"), Some("number"));
                let text = |v: Option<f64>| v.map(|v| v.to_string());
                assert_eq!(control.value().attr("min").map(str::to_owned), text(f.min));
                assert_eq!(control.value().attr("max").map(str::to_owned), text(f.max));
                assert_eq!(control.value().attr("step").map(str::to_owned), text(f.step));
                assert_eq!(
                    control.value().attr("value").map(str::to_owned),
                    f.default.as_ref().map(ToString::to_string)
                );
            }
        }
        assert_eq!(page.attr("form", "method").as_deref(), Some("get"));
        assert_eq!(page.select("form.predict-form button[type=submit]").len(), 1);
        assert_eq!(page.select(".examples a").len(), card.examples.len());
    }
}

#[tokio::test]
async fn a_select_offers_the_cards_choices() {
    let ui = spawn_stack().await;

    let page = ui.get_model_form("diabetes").await;

    let options: Vec<String> = page.select("#f-sex option").iter().map(|o| o.text().collect()).collect();
    assert_eq!(options, ["Group 1", "Group 2"]);
}

#[tokio::test]
async fn pages_load_only_our_own_stylesheet_and_stay_small() {
    let ui = spawn_stack().await;

    let page = ui.get_model_form("wine").await;

    let sheets = page.select("link[rel=stylesheet]");
    assert_eq!(sheets.len(), 1);
    assert_eq!(page.select("script").len(), 0);
    for element in page.select("[src], [href]") {
        let url = element.value().attr("src").or_else(|| element.value().attr("href")).unwrap_or_default();
        assert!(
            url.starts_with('/') || url.starts_with('#') || url.starts_with("data:"),
            "external reference {url}"
        );
    }
    let css = ui.follow(&page.attr("link[rel=stylesheet]", "href").expect("href")).await;
    assert_eq!(css.status, 200);
    assert!(css.header("cache-control").contains("immutable"));
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(
        page.body.len() + css.body.len() < 30 * 1024,
        "first load is {} bytes",
        page.body.len() + css.body.len()
    );
}

#[tokio::test]
async fn a_stale_stylesheet_name_is_a_404() {
    let ui = spawn_stack().await;

    let page = ui.follow("/assets/style.0000000000000000.css").await;

    assert_eq!(page.status, 404);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let ui = spawn_stack().await;

    let page = ui.get_home().await;

    let csp = page.header("content-security-policy");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script source is allowed: {csp}");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert!(!page.header("referrer-policy").is_empty());
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page() {
    let ui = spawn_stack().await;

    let page = ui.get_unknown_page().await;

    assert_eq!(page.status, 404);
    assert_eq!(page.text("h1"), "Page not found");
}

#[tokio::test]
async fn the_monitoring_page_takes_any_query_and_shows_the_window_asked_for() {
    let ui = spawn_stack().await;

    let since_start = ui.fetch_path("/models/iris/monitoring?window=last_hour&window=since_start").await;
    let odd = ui.fetch_path("/models/iris/monitoring?window=1&window=2&x=%ZZ").await;

    assert_eq!(since_start.status, 200, "{}", since_start.body);
    assert_eq!(since_start.text("p.meta a[aria-current=page]"), "Since the model loaded");
    assert_eq!(odd.status, 200, "{}", odd.body);
    assert_eq!(odd.text("p.meta a[aria-current=page]"), "Last hour");
}
