//! End-to-end journeys: the real services, started as a user would run them,
//! and a real browser (headless Chromium through WebDriver) for the UI.

mod api_journey;
mod blueprint;
mod browser;
mod browser_journeys;
mod helpers;
mod kserve;
