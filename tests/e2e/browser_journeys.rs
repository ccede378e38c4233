//! What a person does in a browser: pick a model, fill the form, read the
//! prediction, see an error in place; with and without JavaScript.

use api_types::{ModelCard, PredictResponse, Prediction};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::Value;

use crate::browser::{Browser, Scripts};
use crate::helpers::spawn_stack;

/// The text of `css`, waiting for it: after a click the next page may still be loading.
async fn text(browser: &Browser, css: &str) -> String {
    browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Fails when the page is wider than the window (at phone width, a page that scrolls sideways).
async fn assert_no_sideways_scroll(browser: &Browser, page: &str) {
    let overflow: Value = browser
        .client
        .execute("return document.documentElement.scrollWidth > window.innerWidth;", vec![])
        .await
        .expect("layout");
    assert_eq!(overflow, Value::Bool(false), "{page} scrolls sideways");
}

async fn fill(browser: &Browser, id: &str, value: &str) {
    let input = browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

#[tokio::test]
async fn a_visitor_picks_a_model_fills_the_form_and_reads_the_prediction() {
    let ui = spawn_stack().await.ui;
    let browser = Browser::start(Scripts::Enabled).await;

    browser.client.goto(&format!("{ui}/")).await.expect("open /");
    // The browser's own account of the first load: every request and its bytes on the wire.
    let loaded = browser
        .client
        .execute(
            "const nav = performance.getEntriesByType('navigation')[0]; \
             const res = performance.getEntriesByType('resource'); \
             return [1 + res.length, nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0)];",
            vec![],
        )
        .await
        .expect("performance entries");
    let (requests, bytes) = (loaded[0].as_u64().expect("count"), loaded[1].as_u64().expect("bytes"));
    assert!(requests <= 3, "first load made {requests} requests");
    assert!(bytes <= 30 * 1024, "first load moved {bytes} bytes");

    browser
        .client
        .find(Locator::LinkText("Iris species"))
        .await
        .expect("iris link")
        .click()
        .await
        .expect("click");
    fill(&browser, "f-sepal_length", "6.7").await;
    fill(&browser, "f-sepal_width", "3.0").await;
    fill(&browser, "f-petal_length", "5.2").await;
    fill(&browser, "f-petal_width", "2.3").await;
    browser
        .client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .expect("Predict")
        .click()
        .await
        .expect("click");

    assert_eq!(text(&browser, "#result .verdict .label").await, "virginica");
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains("petal_width=2.3"), "the result has a shareable URL: {url}");
    browser.screenshot("ui-desktop").await;
    browser.client.set_window_size(360, 800).await.expect("phone width");
    browser.client.goto(url.as_str()).await.expect("reload");
    assert_no_sideways_scroll(&browser, "the page").await;
    browser.screenshot("ui-phone").await;
    browser.close().await;
}

#[tokio::test]
async fn an_out_of_range_value_is_explained_next_to_its_field_which_takes_the_focus() {
    let ui = spawn_stack().await.ui;
    let browser = Browser::start(Scripts::Enabled).await;

    browser.client.goto(&format!("{ui}/models/iris")).await.expect("open form");
    fill(&browser, "f-petal_width", "9").await;
    browser
        .client
        .find(Locator::Id("f-petal_width"))
        .await
        .expect("field")
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("Enter");

    let error = text(&browser, "#e-petal_width").await;
    assert!(error.contains("Must be between 0.1 and 4 cm; got 9."), "{error}");
    let focused = browser.client.active_element().await.expect("focus").attr("id").await.expect("id");
    assert_eq!(focused.as_deref(), Some("f-petal_width"));
    let kept = browser
        .client
        .find(Locator::Id("f-petal_width"))
        .await
        .expect("field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("9"));
    browser.screenshot("ui-error").await;
    browser.close().await;
}

#[tokio::test]
async fn without_javascript_every_model_predicts_its_first_example_as_the_api_does_and_takes_the_keyboard() {
    let stack = spawn_stack().await;
    let ui = stack.ui;
    let browser = Browser::start(Scripts::Disabled).await;
    let client = reqwest::Client::new();

    for model in ["iris", "wine", "diabetes", "cancer", "diabetes-trees"] {
        let card: ModelCard = client
            .get(format!("{}/models/{model}", stack.api))
            .send()
            .await
            .expect("card")
            .json()
            .await
            .expect("card");
        let answer: PredictResponse<'static> = client
            .post(format!("{}/models/{model}/predict", stack.api))
            .json(&card.examples[0].values)
            .send()
            .await
            .expect("predict")
            .json()
            .await
            .expect("answer");
        browser.client.goto(&format!("{ui}/models/{model}")).await.expect("open form");
        browser
            .client
            .find(Locator::Css(".examples a"))
            .await
            .expect("an example")
            .click()
            .await
            .expect("click");
        match answer.prediction {
            Prediction::Classification(c) => {
                assert_eq!(text(&browser, "#result .verdict .label").await, c.label, "{model}");
            }
            Prediction::Regression(r) => {
                let shown: f32 = text(&browser, "#result .verdict .value").await.parse().expect("a number");
                assert!(
                    (shown - r.value).abs() <= 0.001 * r.value.abs().max(1.0),
                    "{model}: {shown} vs {}",
                    r.value
                );
            }
        }
    }

    // Keyboard only: Tab through the fields in order, type, submit with Enter.
    browser.client.goto(&format!("{ui}/models/iris")).await.expect("open form");
    browser.client.find(Locator::Id("f-sepal_length")).await.expect("field").click().await.expect("focus");
    for (id, value) in [
        ("f-sepal_length", "4.9"),
        ("f-sepal_width", "3.1"),
        ("f-petal_length", "1.5"),
        ("f-petal_width", "0.1"),
    ] {
        let active = browser.client.active_element().await.expect("focus");
        assert_eq!(active.attr("id").await.expect("id").as_deref(), Some(id), "tab order");
        active.clear().await.expect("clear");
        active.send_keys(&format!("{value}{}", Key::Tab)).await.expect("type");
    }
    let button = browser.client.active_element().await.expect("focus");
    assert_eq!(button.text().await.expect("text"), "Predict");
    button.send_keys(&Key::Enter.to_string()).await.expect("submit");
    assert_eq!(text(&browser, "#result .verdict .label").await, "setosa");
    let focused = browser.client.active_element().await.expect("focus").attr("id").await.expect("id");
    assert_eq!(focused.as_deref(), Some("result"), "the prediction takes the focus");
    browser.close().await;
}

#[tokio::test]
async fn the_api_docs_render_offline_and_load_nothing_from_elsewhere() {
    let api = crate::helpers::spawn_api().await;
    let browser = Browser::start(Scripts::Enabled).await;

    browser.client.goto(&format!("{api}/docs/")).await.expect("open /docs/");
    let title = browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css(".swagger-ui .info .title"))
        .await
        .expect("Swagger UI rendered the document")
        .text()
        .await
        .expect("title");
    assert!(title.contains("modelserve prediction API"), "{title}");
    let operations = browser.client.find_all(Locator::Css(".opblock")).await.expect("operations");
    assert!(operations.len() >= 9, "only {} operations shown", operations.len());
    let urls = browser
        .client
        .execute("return performance.getEntriesByType('resource').map(e => e.name);", vec![])
        .await
        .expect("resources");
    let urls: Vec<&str> = urls.as_array().expect("array").iter().filter_map(Value::as_str).collect();
    assert!(urls.iter().any(|u| u.ends_with("/openapi.json")), "{urls:?}");
    for url in &urls {
        assert!(url.starts_with(&api), "the docs page requested {url}");
    }
    browser.screenshot("api-docs").await;
    browser.close().await;
}

/// Uploads `file` through the model page's file form and presses `button`.
async fn upload(browser: &Browser, ui: &str, model: &str, file: &std::path::Path, button: &str) {
    browser.client.goto(&format!("{ui}/models/{model}")).await.expect("open form");
    let input =
        browser.client.find(Locator::Css("form.file-form input[type=file]")).await.expect("file input");
    input.send_keys(&file.display().to_string()).await.expect("choose the file");
    browser
        .client
        .find(Locator::Css(&format!("form.file-form button[value={button}]")))
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
}

#[tokio::test]
async fn a_spreadsheet_user_uploads_a_file_sees_the_table_and_downloads_it_predicted_with_and_without_javascript()
 {
    let ui = spawn_stack().await.ui;
    let dir = std::env::temp_dir().join(format!("e2e-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("penguins.csv");
    std::fs::write(
        &file,
        "tag,island,sex,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n\
         p1,Biscoe,,48.8,16.2,222,6000\n\
         p2,Dream,male,41.5,18.5,201,4000\n\
         p3,Dream,female,46.1,18.2,178,3250\n",
    )
    .expect("write the file");

    for scripts in [Scripts::Enabled, Scripts::Disabled] {
        let browser = Browser::start(scripts).await;
        upload(&browser, &ui, "penguins", &file, "show").await;
        let predictions: Vec<String> = {
            text(&browser, "table.rows td.prediction").await;
            let cells =
                browser.client.find_all(Locator::Css("table.rows td.prediction")).await.expect("cells");
            let mut texts = Vec::new();
            for cell in cells {
                texts.push(cell.text().await.expect("text"));
            }
            texts
        };
        assert_eq!(predictions, ["Gentoo", "Adelie", "Chinstrap"], "{scripts:?}");
        assert!(text(&browser, ".totals h2").await.contains("3 rows predicted"));
        if scripts == Scripts::Enabled {
            browser.screenshot("ui-file-results").await;
        }

        upload(&browser, &ui, "penguins", &file, "download").await;
        let saved = browser.downloads().join("penguins-predictions.csv");
        let mut waited = 0;
        while !saved.is_file() && waited < 200 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
        let text = std::fs::read_to_string(&saved)
            .unwrap_or_else(|e| panic!("{scripts:?}: no download at {}: {e}", saved.display()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "tag,island,sex,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,label,p_Adelie,p_Chinstrap,p_Gentoo"
        );
        assert!(lines[1].starts_with("p1,Biscoe,,48.8,16.2,222,6000,Gentoo,"), "{}", lines[1]);
        browser.close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The text of the page at `url` once it contains `needle` (the API reloads
/// in the background and the UI reuses a card for a few seconds).
async fn page_once_it_shows(url: &str, needle: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let page = reqwest::get(url).await.expect("GET").text().await.expect("text");
        if page.contains(needle) {
            return page;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{url} never showed {needle:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_operator_drops_in_a_cardless_model_then_a_broken_update_and_the_ui_shows_both() {
    let models = tempfile::TempDir::new().expect("temp dir");
    for file in ["model.onnx", "card.toml"] {
        let from = crate::helpers::models_dir().join("iris").join(file);
        std::fs::create_dir_all(models.path().join("iris")).expect("mkdir");
        std::fs::copy(from, models.path().join("iris").join(file)).expect("copy");
    }
    let stack = crate::helpers::spawn_stack_on(models.path().to_owned()).await;
    let zoo = crate::helpers::models_dir().join("../crates/onnx-ml/tests/zoo/iris_forest_default_op17.onnx");
    std::fs::create_dir_all(models.path().join("forest")).expect("mkdir");
    std::fs::copy(&zoo, models.path().join("forest/model.part")).expect("copy");
    std::fs::rename(models.path().join("forest/model.part"), models.path().join("forest/model.onnx"))
        .expect("mv");
    let form = page_once_it_shows(&format!("{}/models/forest", stack.ui), "No card: inputs inferred").await;
    assert!(form.contains("id=\"f-f3\""), "the form has the graph's four columns");

    let browser = Browser::start(Scripts::Disabled).await;
    browser
        .client
        .goto(&format!("{}/models/forest?f0=6.7&f1=3.0&f2=5.2&f3=2.3", stack.ui))
        .await
        .expect("open");
    assert_eq!(text(&browser, "#result .verdict .label").await, "2", "the graph's own class labels");
    browser.client.find(Locator::LinkText("Model card")).await.expect("link").click().await.expect("click");
    let toml = text(&browser, "#card-toml pre").await;
    assert!(toml.contains("name = \"forest\""), "{toml}");
    let facts = text(&browser, "section[aria-labelledby=file-title] dl").await;
    assert!(facts.contains("SHA-256"), "{facts}");
    browser.client.set_window_size(360, 800).await.expect("phone width");
    assert_no_sideways_scroll(&browser, "the card page").await;
    browser.client.set_window_size(1200, 1400).await.expect("desktop width");
    browser.screenshot("ui-card").await;

    // A truncated update: the old model keeps answering, the page says why.
    let mut bytes = std::fs::read(&zoo).expect("read");
    bytes.truncate(bytes.len() / 3);
    std::fs::write(models.path().join("forest/model.part"), bytes).expect("write");
    std::fs::rename(models.path().join("forest/model.part"), models.path().join("forest/model.onnx"))
        .expect("mv");
    page_once_it_shows(&format!("{}/models/forest", stack.ui), "A newer file of this model failed to load")
        .await;
    browser
        .client
        .goto(&format!("{}/models/forest?f0=6.7&f1=3.0&f2=5.2&f3=2.3", stack.ui))
        .await
        .expect("open");
    assert!(text(&browser, "#load-error-title").await.contains("failed to load"));
    assert_eq!(text(&browser, "#result .verdict .label").await, "2", "the previous file still answers");
    browser.screenshot("ui-load-error").await;
    browser.close().await;
}

#[tokio::test]
async fn an_operator_reads_which_feature_drifted_on_the_monitoring_page_at_phone_width() {
    let stack = spawn_stack().await;
    let client = reqwest::Client::new();
    // 200 flowers whose petals are 2 cm longer than any in training.
    let rows: Vec<Value> = (0..200)
        .map(|i| {
            let f = f64::from(i % 10) / 10.0;
            serde_json::json!({"sepal_length": 5.0 + f, "sepal_width": 3.0 + f / 2.0, "petal_length": 7.5 + f, "petal_width": 1.0 + f})
        })
        .collect();
    let reply = client
        .post(format!("{}/models/iris/predict/batch", stack.api))
        .json(&serde_json::json!({ "instances": rows }))
        .send()
        .await
        .expect("batch");
    assert_eq!(reply.status(), 200);

    let browser = Browser::start(Scripts::Disabled).await;
    browser.client.goto(&format!("{}/models/iris", stack.ui)).await.expect("open");
    browser.client.find(Locator::LinkText("Monitoring")).await.expect("link").click().await.expect("click");

    let first = text(&browser, "section.drift:not(:first-of-type) h3, h2 + section.drift h3").await;
    assert!(first.starts_with("Petal length"), "the most drifted feature comes first: {first}");
    assert!(first.contains("significant drift"), "{first}");
    let badges = browser.client.find_all(Locator::Css(".psi-significant")).await.expect("badges");
    assert!(!badges.is_empty());
    browser.client.set_window_size(360, 900).await.expect("phone width");
    assert_no_sideways_scroll(&browser, "the monitoring page").await;
    browser.screenshot("ui-monitoring-phone").await;
    browser.client.set_window_size(1200, 1600).await.expect("desktop width");
    browser.screenshot("ui-monitoring").await;
    browser.close().await;
}
