//! `cargo xtask bench`: release build, measured against `prov sandbox` (numbers go in docs/benchmarks.md).

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
