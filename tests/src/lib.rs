//! The `e2e` crate holds only tests (in `e2e/`): journeys through the real
//! services started together on port 0. It has no library code of its own.
