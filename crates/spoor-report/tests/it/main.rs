//! spoor-report's integration tests: golden files for every format (with hostile findings) and
//! the HTML report in a real headless Chromium.

mod browser;
mod fixtures;
mod golden;
mod robustness;
