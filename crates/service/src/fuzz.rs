//! How many cases the services' property tests (the fuzz targets of every
//! parser) run: proptest's 256 by default; `FUZZ_CASES` raises it for a
//! soak (`.ci/run` runs one).

/// Cases per property test.
pub fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}
