//! Resolves parsed arguments into what commands use: the provider registry, each provider's client settings
//! (base URL from `--api-url`, `PROV_<P>_API_URL` or the sandbox; token from the environment only), and the
//! in-process sandbox when `--sandbox` is set.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use prov_core::provider::ProviderInfo;
use prov_core::{ClientSettings, Provider, Registration, Secret};
use prov_sandbox::{Dialect, NewDialect, Sandbox, SandboxOptions};

use crate::Failure;
use crate::args::{GlobalArgs, OutputFormat};

/// Every provider prov knows, in display order: the one list a new provider is added to. The registry, the
/// sandbox dialects and [`Context::connect`] all come from it.
pub static PROVIDERS: [&Registration<NewDialect>; 3] =
    [&prov_vultr::REGISTRATION, &prov_linode::REGISTRATION, &prov_digitalocean::REGISTRATION];

/// Every provider prov knows, in display order (the descriptors of [`PROVIDERS`]).
pub fn registry() -> &'static [&'static ProviderInfo] {
    static ALL: LazyLock<Vec<&'static ProviderInfo>> = LazyLock::new(|| PROVIDERS.iter().map(|r| r.info).collect());
    &ALL
}

/// Finds a provider by name or alias; an unknown name is a usage error with a suggestion.
pub fn find_provider(name: &str) -> Result<&'static ProviderInfo, Failure> {
    if let Some(p) = registry().iter().copied().find(|p| p.answers_to(name)) {
        return Ok(p);
    }
    let names: Vec<&str> =
        registry().iter().flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied())).collect();
    let hint = prov_core::plan::suggest(name, names.iter().copied())
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    Err(Failure::usage(format!(
        "unknown provider `{name}` (known: {}){hint}",
        registry().iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
    )))
}

/// The sandbox dialects of every provider (`image_count` grows each image list).
pub fn dialects(image_count: Option<usize>) -> Vec<Arc<dyn Dialect>> {
    PROVIDERS.iter().map(|r| (r.sandbox)(image_count)).collect()
}

/// The token used against the sandbox when none is set in the environment.
pub const SANDBOX_TOKEN: &str = "sandbox-token";

/// Everything a command needs besides its own arguments.
pub struct Context {
    /// Output format.
    pub output: OutputFormat,
    api_url: Option<String>,
    request_timeout: Duration,
    sandbox: Option<Sandbox>,
    /// How lost creates are resolved (`PROV_SETTLE_WINDOW` overrides the 30 s settle window).
    pub create: prov_core::create::CreateOptions,
}

impl Context {
    /// Resolves global flags; starts the in-process sandbox for `--sandbox`.
    pub fn new(global: &GlobalArgs) -> Result<Self, Failure> {
        if global.sandbox && global.api_url.is_some() {
            return Err(Failure::usage("--api-url and --sandbox cannot be combined"));
        }
        let sandbox = if global.sandbox {
            let boot = std::env::var("PROV_SANDBOX_BOOT_SECS")
                .ok()
                .map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| Failure::usage(format!("PROV_SANDBOX_BOOT_SECS=`{v}` is not a number of seconds")))
                })
                .transpose()?
                .unwrap_or(2.0);
            let opts = SandboxOptions { boot: secs(boot)?, faults: fault_spec(&[]), ..SandboxOptions::default() };
            let sb = Sandbox::start("127.0.0.1:0", dialects(None), opts)
                .map_err(|e| sandbox_failure("cannot start the sandbox", &e))?;
            Some(sb)
        } else {
            None
        };
        if global.request_timeout.is_zero() {
            return Err(Failure::usage("--request-timeout must be more than 0s"));
        }
        let mut create = prov_core::create::CreateOptions::default();
        if let Some(v) = std::env::var("PROV_SETTLE_WINDOW").ok().filter(|v| !v.trim().is_empty()) {
            create.settle = humantime::parse_duration(v.trim())
                .map_err(|e| Failure::usage(format!("PROV_SETTLE_WINDOW=`{v}` is not a duration like 30s: {e}")))?;
            create.lookup_interval = create.lookup_interval.min(create.settle / 10);
        }
        Ok(Self {
            create,
            output: global.output,
            api_url: global.api_url.clone(),
            request_timeout: global.request_timeout,
            sandbox,
        })
    }

    /// Refuses `--api-url` when `providers` (the distinct providers a command involves) are more than one: the
    /// URL would receive every provider's token. Exit 2, before anything is sent.
    pub fn one_url_one_provider(&self, providers: &[&str]) -> Result<(), Failure> {
        if self.api_url.is_some() && providers.len() > 1 {
            return Err(Failure::usage(format!(
                "--api-url applies to one provider, and this involves {} ({}); set PROV_<PROVIDER>_API_URL for each instead",
                providers.len(),
                providers.join(", ")
            )));
        }
        Ok(())
    }

    /// Client settings for `info`.
    pub fn client_settings(&self, info: &ProviderInfo) -> ClientSettings {
        let mut s = ClientSettings::from_env(info);
        s.request_timeout = self.request_timeout;
        s.cancel = crate::cancel_flag();
        if let Some(url) = &self.api_url {
            s.base_url = Some(url.clone());
        }
        if let Some(sb) = &self.sandbox {
            s.base_url = Some(sb.base_url(info.sandbox_path));
            if s.token.is_none() {
                s.token = Some(Secret::new(SANDBOX_TOKEN));
            }
        }
        s
    }

    /// A client for `info`. Checks the base URL; sends nothing.
    pub fn connect(&self, info: &'static ProviderInfo) -> Result<Box<dyn Provider>, Failure> {
        let s = self.client_settings(info);
        let Some(registration) = PROVIDERS.iter().find(|r| r.info.name == info.name) else {
            return Err(Failure::usage(format!("provider `{}` is not supported yet", info.name)));
        };
        Ok((registration.connect)(&s)?)
    }
}

/// The sandbox fault specification: `PROV_SANDBOX_FAULTS` followed by every `--fault`, joined with `;`.
pub fn fault_spec(flags: &[String]) -> String {
    let mut parts: Vec<String> =
        std::env::var("PROV_SANDBOX_FAULTS").ok().filter(|v| !v.trim().is_empty()).into_iter().collect();
    parts.extend(flags.iter().cloned());
    parts.join(";")
}

/// A sandbox that would not start: a bad fault spec is a usage error (exit 2), anything else a failure.
pub fn sandbox_failure(what: &str, e: &std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::InvalidInput {
        Failure::usage(format!("invalid sandbox fault spec: {e}"))
    } else {
        Failure::failed(format!("{what}: {e}"))
    }
}

/// Seconds (possibly fractional) as a duration; negative or absurd values are usage errors.
pub fn secs(v: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(v).map_err(|_| Failure::usage(format!("`{v}` is not a valid number of seconds")))
}
