//! Command-line arguments (clap). Only parsing lives here; `settings` turns these into what commands use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Provision VPS instances on Vultr, Linode and DigitalOcean from TOML plans.
#[derive(Debug, Parser)]
#[command(name = "prov", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Flags for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run against simulated provider APIs on 127.0.0.1 (no account, no network); also PROV_SANDBOX=1.
    #[arg(long, global = true, env = "PROV_SANDBOX", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, hide_env_values = true)]
    pub sandbox: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// More detail on stderr (-v, -vv, -vvv shows requests and answers with secrets masked).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// API base URL including the version segment (overrides `PROV_<PROVIDER>_API_URL`).
    /// Only with commands that involve exactly one provider: a token is sent only to its own provider.
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,
    /// Time allowed for one request, answer included; a stalled provider fails a command within twice this.
    #[arg(long, global = true, env = "PROV_REQUEST_TIMEOUT", default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: std::time::Duration,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables for people.
    Table,
    /// JSON on stdout and nothing else.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List regions, plans, images or instances of a provider (`all`: every provider with a token).
    List {
        /// vultr, linode, digitalocean (do), or all.
        provider: String,
        /// What to list.
        #[arg(value_enum)]
        what: ListWhat,
        /// Filters and sorting for catalogue lists.
        #[command(flatten)]
        filters: ListFilters,
    },
    /// Show one instance.
    Show {
        /// vultr, linode, digitalocean (do).
        provider: String,
        /// The instance id, or its label when exactly one instance has it.
        id: String,
    },
    /// Create the instances of a plan file (TOML, or a legacy Prod .txt recipe) and wait for them.
    Apply {
        /// The plan file.
        plan: PathBuf,
        /// Print what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// How far to wait (overrides the plan's `wait`).
        #[arg(long, value_enum)]
        wait: Option<WaitArg>,
        /// Give up waiting after this long (e.g. 90s, 15m); a timeout is a failure.
        #[arg(long, default_value = "15m", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// Take over an existing instance with a plan label that prov did not create (tags it as managed).
        #[arg(long)]
        adopt: bool,
    },
    /// Show what `apply` would do: per instance create / exists / conflict, the exact requests, and the price.
    /// Sends only reads.
    Plan {
        /// The plan file.
        plan: PathBuf,
    },
    /// Delete the instances of a plan that prov created (label + managed tag); never anything else.
    Destroy {
        /// The plan file.
        plan: PathBuf,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Wait until each instance is gone.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this long.
        #[arg(long, default_value = "15m", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Delete instances by id or label.
    Delete {
        /// vultr, linode, digitalocean (do).
        provider: String,
        /// Instance ids, or labels each held by exactly one instance.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Run the simulated provider APIs on loopback in the foreground.
    Sandbox {
        /// Address to listen on (loopback only).
        #[arg(long, default_value = "127.0.0.1:8710")]
        listen: String,
        /// Seconds from create to ready.
        #[arg(long, env = "PROV_SANDBOX_BOOT_SECS", default_value_t = 2.0)]
        boot_secs: f64,
        /// Inject a fault (repeatable; see docs/reliability.md), added to PROV_SANDBOX_FAULTS.
        #[arg(long = "fault", value_name = "SPEC")]
        faults: Vec<String>,
        /// Latency added to every answer, in milliseconds.
        #[arg(long, env = "PROV_SANDBOX_LATENCY_MS", default_value_t = 0)]
        latency_ms: u64,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Filters and sorting of `list … plans|images` (ignored by other lists).
#[derive(Debug, Clone, Default, Args)]
pub struct ListFilters {
    /// Plans with at least this many vCPUs.
    #[arg(long, value_name = "N")]
    pub min_vcpus: Option<u32>,
    /// Plans with at least this much memory (e.g. 2G, 512M).
    #[arg(long, value_name = "SIZE")]
    pub min_ram: Option<String>,
    /// Plans with at least this much disk (e.g. 50G).
    #[arg(long, value_name = "SIZE")]
    pub min_disk: Option<String>,
    /// Plans costing at most this many US dollars a month.
    #[arg(long, value_name = "USD")]
    pub max_price: Option<f64>,
    /// Plans sold in this region.
    #[arg(long, value_name = "ID")]
    pub region: Option<String>,
    /// Images of this family (debian, ubuntu, …).
    #[arg(long, value_name = "NAME")]
    pub family: Option<String>,
    /// Sort plans.
    #[arg(long, value_enum)]
    pub sort: Option<SortKey>,
    /// Bypass the catalogue cache.
    #[arg(long)]
    pub refresh: bool,
}

/// `--sort` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    /// Monthly price, cheapest first.
    Price,
    /// Memory, smallest first.
    Ram,
    /// vCPUs, fewest first.
    Vcpus,
}

/// What `list` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    /// Regions.
    Regions,
    /// Plans (sizes, types).
    Plans,
    /// OS images (`os` as in Prod).
    #[value(alias = "os")]
    Images,
    /// Instances.
    Instances,
}

/// `--wait` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaitArg {
    /// Return after the create call.
    None,
    /// Until a public IPv4 is assigned.
    Created,
    /// Until the provider says ready.
    Ready,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration like 90s or 15m: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
