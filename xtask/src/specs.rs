//! `cargo xtask specs [--check]`: trims the official OpenAPI specs into fixtures/openapi/<provider>.json.

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
