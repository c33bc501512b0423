//! `spoor metrics`.
use crate::args::MetricsArgs;
pub fn run(_args: MetricsArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not yet")
}
