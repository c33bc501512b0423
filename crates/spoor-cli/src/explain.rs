//! `spoor explain`.
use crate::args::ExplainArgs;
pub fn run(_args: ExplainArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not yet")
}
