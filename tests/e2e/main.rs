//! End-to-end journeys: the real services, started as a user would run them.

mod api_journey;
mod helpers;
