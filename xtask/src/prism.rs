//! `cargo xtask prism`: runs prov against Stoplight Prism mocks of the official specs and fails on any request violation.

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
