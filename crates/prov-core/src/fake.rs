//! Tests only: the stand-in provider descriptor the unit tests of create and wait build their fake providers on.

use crate::provider::{CreateSpec, FieldProblem, ProviderInfo};
use crate::{ApiError, Currency};

fn rules(_: &CreateSpec) -> Vec<FieldProblem> {
    Vec::new()
}

/// A provider that takes a root password, answers to nothing real and parses no error body.
pub(crate) static INFO: ProviderInfo = ProviderInfo {
    name: "fake",
    display_name: "Fake",
    aliases: &[],
    default_base_url: "https://fake.invalid/v1",
    url_env: "PROV_FAKE_API_URL",
    token_env: &[],
    currency: Currency::Usd,
    catalogue_needs_token: false,
    plan_keys: &["root_password"],
    unsupported_hints: &[],
    legacy_keys: &[],
    sandbox_path: "/fake/v1",
    validate: rules,
    parse_error: |_, _| ApiError::default(),
};
