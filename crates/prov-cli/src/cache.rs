//! The on-disk catalogue cache (regions, plans, images per provider and base URL, with a TTL).
//!
//! One JSON file per provider, base URL and kind in the cache directory (`PROV_CACHE_DIR`, else the platform cache
//! directory + `/prov`). The file name carries the provider, the kind, a readable form of the base URL and a
//! stable 64-bit FNV-1a hash of it, and the file repeats the base URL, so a sandbox on another port (or another
//! API) never reads a neighbour's entry. Freshness comes from the `fetched_at` time written inside the file and
//! the TTL (`PROV_CACHE_TTL`, default one hour, `0` disables the cache). A file that cannot be read or decoded is
//! treated as a miss and rewritten; a failed write is logged at `-v` and never fails the command. Instances are
//! never cached.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prov_core::provider::Operation;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Failure;

/// How long an entry stays fresh when `PROV_CACHE_TTL` is not set.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Environment variable overriding the cache directory.
pub const DIR_ENV: &str = "PROV_CACHE_DIR";

/// Environment variable overriding the TTL (`10m`, `1h`, `90` seconds; `0` disables the cache).
pub const TTL_ENV: &str = "PROV_CACHE_TTL";

/// Version of the file layout; a file with another version is a miss.
const FORMAT_VERSION: u32 = 1;

/// Every cache file name starts with this, so pruning never touches anything else in a shared directory.
const FILE_PREFIX: &str = "catalogue-";

/// Entries older than this (or than the TTL, when longer) are deleted when a new entry is written.
const PRUNE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A `fetched_at` further in the future than this is distrusted (clock changes) and the entry treated as stale.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// What is cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Regions.
    Regions,
    /// Plans (sizes, types).
    Plans,
    /// OS images.
    Images,
}

impl Kind {
    /// The word used in file names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regions => "regions",
            Self::Plans => "plans",
            Self::Images => "images",
        }
    }

    /// The API operation that fetches this kind (for the token check).
    pub fn operation(self) -> Operation {
        match self {
            Self::Regions => Operation::ListRegions,
            Self::Plans => Operation::ListPlans,
            Self::Images => Operation::ListImages,
        }
    }
}

/// A fresh entry read from the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<T> {
    /// The cached items, in the order the provider listed them.
    pub items: Vec<T>,
    /// How old the entry is.
    pub age: Duration,
}

/// The catalogue cache: a directory and a TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
    ttl: Duration,
}

/// The file as written (borrowing the items).
#[derive(Serialize)]
struct EntryOut<'a, T> {
    version: u32,
    provider: &'a str,
    base_url: &'a str,
    kind: &'a str,
    fetched_at: u64,
    items: &'a [T],
}

/// The file as read.
#[derive(Deserialize)]
struct EntryIn<T> {
    version: u32,
    provider: String,
    base_url: String,
    kind: String,
    fetched_at: u64,
    items: Vec<T>,
}

impl Cache {
    /// A cache in `dir` whose entries stay fresh for `ttl`.
    pub fn new(dir: impl Into<PathBuf>, ttl: Duration) -> Self {
        Self { dir: dir.into(), ttl }
    }

    /// The cache the environment asks for: `None` when `PROV_CACHE_TTL` is zero or no cache directory is known.
    /// An unreadable `PROV_CACHE_TTL` is a usage error (exit 2), reported before anything is sent.
    pub fn from_env() -> Result<Option<Self>, Failure> {
        let ttl = match std::env::var(TTL_ENV) {
            Ok(v) if !v.trim().is_empty() => parse_ttl(&v).map_err(Failure::usage)?,
            _ => DEFAULT_TTL,
        };
        if ttl.is_zero() {
            log::debug!("catalogue cache disabled ({TTL_ENV}=0)");
            return Ok(None);
        }
        let dir = match std::env::var_os(DIR_ENV) {
            Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
            _ => dirs::cache_dir().map(|d| d.join("prov")),
        };
        match dir {
            Some(dir) => Ok(Some(Self::new(dir, ttl))),
            None => {
                log::debug!("catalogue cache disabled: no cache directory (set {DIR_ENV})");
                Ok(None)
            }
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The file holding `kind` of `provider` at `base_url`.
    pub fn path_for(&self, provider: &str, base_url: &str, kind: Kind) -> PathBuf {
        self.dir.join(file_name(provider, base_url, kind))
    }

    /// A fresh entry, or `None` when there is none, it is older than the TTL, or it cannot be read or decoded
    /// (a corrupt file is a miss, never an error).
    pub fn load<T: DeserializeOwned>(&self, provider: &str, base_url: &str, kind: Kind) -> Option<Hit<T>> {
        let path = self.path_for(provider, base_url, kind);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::info!("cache: cannot read {}: {e}", path.display());
                }
                return None;
            }
        };
        let entry: EntryIn<T> = match serde_json::from_slice(&bytes) {
            Ok(e) => e,
            Err(e) => {
                log::info!("cache: ignoring unreadable {} ({e}); fetching again", path.display());
                return None;
            }
        };
        if entry.version != FORMAT_VERSION
            || entry.provider != provider
            || entry.base_url != base_url
            || entry.kind != kind.as_str()
        {
            log::debug!("cache: {} belongs to another provider, URL or version", path.display());
            return None;
        }
        let fetched = UNIX_EPOCH + Duration::from_secs(entry.fetched_at);
        let age = match SystemTime::now().duration_since(fetched) {
            Ok(age) => age,
            Err(e) if e.duration() <= CLOCK_SKEW => Duration::ZERO,
            Err(_) => {
                log::debug!("cache: {} was written in the future; fetching again", path.display());
                return None;
            }
        };
        if age >= self.ttl {
            log::debug!("cache: {} is {}s old (TTL {}s)", path.display(), age.as_secs(), self.ttl.as_secs());
            return None;
        }
        Some(Hit { items: entry.items, age })
    }

    /// Writes an entry (atomically: a temporary file renamed over the old one), then deletes entries of this
    /// cache that have not been written for a day (or the TTL, when longer), such as those of old sandboxes.
    pub fn store<T: Serialize>(&self, provider: &str, base_url: &str, kind: Kind, items: &[T]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let fetched_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let entry = EntryOut { version: FORMAT_VERSION, provider, base_url, kind: kind.as_str(), fetched_at, items };
        let path = self.path_for(provider, base_url, kind);
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            serde_json::to_writer(&mut out, &entry).map_err(std::io::Error::other)?;
            // No fsync: after a crash a torn entry is merely a miss.
            out.flush()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.prune();
        Ok(())
    }

    /// Deletes cache files not modified for [`PRUNE_AFTER`] (or the TTL, when longer). Best effort.
    fn prune(&self) {
        let keep = self.ttl.max(PRUNE_AFTER);
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(FILE_PREFIX) {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > keep);
            if old {
                log::debug!("cache: removing old {name}");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Parses a TTL: a humantime duration (`90s`, `10m`, `1h 30m`) or a plain number of seconds; `0` disables.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t)
        .map_err(|_| format!("{TTL_ENV}=`{text}` is not a duration like 10m, 1h or 0 (0 disables the cache)"))
}

/// The file name of an entry: `catalogue-<provider>-<kind>-<readable URL>-<hash>.json`.
pub fn file_name(provider: &str, base_url: &str, kind: Kind) -> String {
    format!(
        "{FILE_PREFIX}{}-{}-{}-{:016x}.json",
        sanitize(provider),
        kind.as_str(),
        readable(base_url),
        fnv1a64(base_url)
    )
}

/// The base URL without its scheme, reduced to `[A-Za-z0-9.-]` (other characters become `_`) and at most 60
/// characters; the hash next to it keeps distinct URLs apart.
fn readable(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    sanitize(rest).chars().take(60).collect()
}

fn sanitize(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

/// 64-bit FNV-1a: stable across Rust releases and platforms (unlike `DefaultHasher`), which file names need.
pub fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("prov-cache-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn ttl_accepts_durations_and_plain_seconds() {
        assert_eq!(parse_ttl("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl(" 90 "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("0"), Ok(Duration::ZERO));
        assert!(parse_ttl("soon").is_err_and(|e| e.contains("PROV_CACHE_TTL=`soon`")));
        assert!(parse_ttl("-5").is_err());
    }

    #[test]
    fn fnv_is_the_published_function() {
        // Test vectors of FNV-1a 64.
        assert_eq!(fnv1a64(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn file_names_differ_by_url_port_and_kind_and_are_safe() {
        let a = file_name("vultr", "http://127.0.0.1:8710/vultr/v2", Kind::Plans);
        let b = file_name("vultr", "http://127.0.0.1:8711/vultr/v2", Kind::Plans);
        let c = file_name("vultr", "http://127.0.0.1:8710/vultr/v2", Kind::Images);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("catalogue-vultr-plans-127.0.0.1_8710_vultr_v2-"), "{a}");
        let weird = file_name("vultr", "https://x/../../etc/passwd?a=b", Kind::Regions);
        assert!(!weird.contains('/') && !weird.contains('?'), "{weird}");
        let long = file_name("vultr", &format!("https://{}", "h".repeat(500)), Kind::Regions);
        assert!(long.len() < 120, "{long}");
    }

    #[test]
    fn a_stored_entry_is_read_back_until_it_expires() {
        let dir = temp_dir("roundtrip");
        let cache = Cache::new(&dir, Duration::from_secs(3600));
        let url = "http://127.0.0.1:1/vultr/v2";
        assert_eq!(cache.load::<String>("vultr", url, Kind::Regions), None);
        cache
            .store("vultr", url, Kind::Regions, &["syd".to_owned(), "ams".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        let hit = cache.load::<String>("vultr", url, Kind::Regions).unwrap_or_else(|| panic!("a hit"));
        assert_eq!(hit.items, ["syd", "ams"]);
        assert!(hit.age < Duration::from_secs(60));
        assert_eq!(cache.load::<String>("vultr", "http://127.0.0.1:2/vultr/v2", Kind::Regions), None);
        assert_eq!(cache.load::<String>("linode", url, Kind::Regions), None);
        assert_eq!(cache.load::<String>("vultr", url, Kind::Plans), None);
        // An expired entry: rewrite fetched_at two hours back.
        let path = cache.path_for("vultr", url, Kind::Regions);
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap_or_default()).unwrap_or_default();
        let two_hours_ago = v["fetched_at"].as_u64().unwrap_or_default() - 7200;
        v["fetched_at"] = two_hours_ago.into();
        std::fs::write(&path, v.to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cache.load::<String>("vultr", url, Kind::Regions), None);
        let longer = Cache::new(&dir, Duration::from_secs(3 * 3600));
        assert!(longer.load::<String>("vultr", url, Kind::Regions).is_some());
        // Written in the future (beyond clock skew): stale.
        v["fetched_at"] = (two_hours_ago + 4 * 3600).into();
        std::fs::write(&path, v.to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(longer.load::<String>("vultr", url, Kind::Regions), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn corrupt_or_foreign_files_are_misses_not_panics() {
        let dir = temp_dir("corrupt");
        let cache = Cache::new(&dir, Duration::from_secs(3600));
        let url = "http://127.0.0.1:1/linode/v4";
        let path = cache.path_for("linode", url, Kind::Plans);
        let _ = std::fs::create_dir_all(&dir);
        for junk in [&b""[..], b"{", b"\xff\xfe garbage", b"[]", br#"{"version":1}"#, b"null"] {
            std::fs::write(&path, junk).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(cache.load::<u32>("linode", url, Kind::Plans), None);
        }
        let other = format!(
            r#"{{"version":1,"provider":"linode","base_url":"http://elsewhere","kind":"plans","fetched_at":{},"items":[1]}}"#,
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
        );
        std::fs::write(&path, other).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cache.load::<u32>("linode", url, Kind::Plans), None, "a hash collision is caught by the URL");
        cache.store("linode", url, Kind::Plans, &[7u32]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cache.load::<u32>("linode", url, Kind::Plans).map(|h| h.items), Some(vec![7]));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pruning_removes_old_entries_and_nothing_else() {
        let dir = temp_dir("prune");
        let cache = Cache::new(&dir, Duration::from_secs(3600));
        let _ = std::fs::create_dir_all(&dir);
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
        let old = |name: &str| {
            let path = dir.join(name);
            std::fs::write(&path, "{}").unwrap_or_else(|e| panic!("{e}"));
            let file = std::fs::File::options().write(true).open(&path).unwrap_or_else(|e| panic!("{e}"));
            file.set_modified(two_days_ago).unwrap_or_else(|e| panic!("{e}"));
            path
        };
        let stranger = old("notes.json");
        let stale = old("catalogue-vultr-plans-127.0.0.1_9_v-0000000000000000.json");
        cache.store("vultr", "http://127.0.0.1:1/v", Kind::Plans, &[1u8]).unwrap_or_else(|e| panic!("{e}"));
        cache.store("vultr", "http://127.0.0.1:2/v", Kind::Plans, &[2u8]).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        assert_eq!(names.len(), 3, "fresh entries are kept and no temporary file is left: {names:?}");
        assert!(stranger.exists(), "files that are not cache entries are never touched");
        assert!(!stale.exists(), "an entry not written for two days is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
