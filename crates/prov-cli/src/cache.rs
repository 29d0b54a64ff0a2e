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
            Self::Plans => Operation::ListSizes,
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
        let bytes = match read_entry(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return None,
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
        // Any number may be in the file: a time the clock cannot represent is stale, never a panic.
        let Some(fetched) = UNIX_EPOCH.checked_add(Duration::from_secs(entry.fetched_at)) else {
            log::debug!("cache: {} has an impossible fetched_at; fetching again", path.display());
            return None;
        };
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
        create_private_dir(&self.dir)?;
        let fetched_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let entry = EntryOut { version: FORMAT_VERSION, provider, base_url, kind: kind.as_str(), fetched_at, items };
        let path = self.path_for(provider, base_url, kind);
        let (tmp, file) = create_temp(&path)?;
        let mut out = std::io::BufWriter::new(file);
        // No fsync: after a crash a torn entry is merely a miss.
        let written = serde_json::to_writer(&mut out, &entry).map_err(std::io::Error::other).and_then(|()| out.flush());
        drop(out);
        // A rename replaces whatever is at `path` (a planted symlink included) and never follows it.
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.prune();
        Ok(())
    }

    /// Deletes this cache's own files (entries and left-over temporary files, recognised by their name) that are
    /// regular files not modified for [`PRUNE_AFTER`] (or the TTL, when longer). Anything else in the directory
    /// (other files, symlinks, FIFOs, directories) is left alone. Best effort.
    fn prune(&self) {
        let keep = self.ttl.max(PRUNE_AFTER);
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !is_own_file(name) {
                continue;
            }
            // `DirEntry::metadata` does not follow symlinks.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.file_type().is_file() {
                continue;
            }
            let old = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > keep);
            if old {
                log::debug!("cache: removing old {name}");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The most a cache file may hold; a bigger one is a miss (a catalogue is a few megabytes at most).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a cache file if it is a regular file: `Ok(None)` for anything else (a symlink, a FIFO, a directory, a
/// device) or a file over [`MAX_FILE_BYTES`], so nothing planted in the directory can hang or flood a command.
fn read_entry(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        log::info!("cache: ignoring {}: not a regular file", path.display());
        return Ok(None);
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Should the file be swapped for a FIFO or a symlink after the check, the open neither blocks nor follows.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        log::info!("cache: ignoring {}: not a regular file", path.display());
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        log::info!("cache: ignoring {}: larger than {MAX_FILE_BYTES} bytes", path.display());
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Creates the cache directory (and missing parents) readable by the user only. An existing directory keeps its
/// mode: `PROV_CACHE_DIR` may name a directory the user chose.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates a new temporary file next to `path` under an unpredictable name (`<name>.<random>.tmp`), never
/// opening anything that already exists there (a planted symlink included); mode 0600 on unix.
fn create_temp(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for _ in 0..8 {
        let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(format!(".{:016x}{TEMP_SUFFIX}", random_u64()));
        let tmp = path.with_file_name(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("cannot create a temporary file")))
}

/// The end of a temporary file's name.
const TEMP_SUFFIX: &str = ".tmp";

/// 64 random bits from the standard library's randomly keyed hasher (no extra dependency).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    h.finish()
}

/// True for the names this cache writes: `catalogue-…-<16 hex>.json` and its temporary files
/// `catalogue-…-<16 hex>.json.<16 hex>.tmp`.
fn is_own_file(name: &str) -> bool {
    fn hex16(s: &str) -> bool {
        s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
    }
    fn entry(name: &str) -> bool {
        name.strip_suffix(".json")
            .and_then(|s| s.rsplit_once('-'))
            .is_some_and(|(head, hash)| hex16(hash) && head.len() > FILE_PREFIX.len())
    }
    if !name.starts_with(FILE_PREFIX) {
        return false;
    }
    match name.strip_suffix(TEMP_SUFFIX).and_then(|s| s.rsplit_once('.')) {
        Some((base, random)) => hex16(random) && entry(base),
        None => entry(name),
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
    #[cfg(unix)]
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

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

    fn now_secs() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    fn entry_text(url: &str, fetched_at: &str) -> String {
        format!(
            r#"{{"version":1,"provider":"vultr","base_url":"{url}","kind":"regions","fetched_at":{fetched_at},"items":["syd"]}}"#
        )
    }

    #[test]
    fn a_fetched_at_the_clock_cannot_represent_is_stale_not_a_panic() {
        let dir = temp_dir("huge");
        let cache = Cache::new(&dir, Duration::from_secs(3600));
        let url = "http://127.0.0.1:1/vultr/v2";
        let path = cache.path_for("vultr", url, Kind::Regions);
        let _ = std::fs::create_dir_all(&dir);
        let fresh = now_secs().to_string();
        std::fs::write(&path, entry_text(url, &fresh)).unwrap_or_else(|e| panic!("{e}"));
        assert!(cache.load::<String>("vultr", url, Kind::Regions).is_some(), "the control entry is a hit");
        for huge in [u64::MAX.to_string(), (1u64 << 63).to_string(), (u64::MAX / 2 + 1).to_string(), "1e30".into()] {
            std::fs::write(&path, entry_text(url, &huge)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(cache.load::<String>("vultr", url, Kind::Regions), None, "fetched_at {huge}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pruning_spares_files_that_only_look_like_entries() {
        let dir = temp_dir("foreign");
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
        let foreign = [
            old("catalogue-notes.txt"),
            old("catalogue-.json"),
            old("catalogue-mine.json"),
            old("catalogue-vultr-plans-x-0000000000000000.json.bak"),
            old("catalogue-vultr-plans-x-zzzzzzzzzzzzzzzz.json"),
        ];
        let own_tmp = old("catalogue-vultr-plans-x-0000000000000000.json.0123456789abcdef.tmp");
        cache.store("vultr", "http://127.0.0.1:1/v", Kind::Plans, &[1u8]).unwrap_or_else(|e| panic!("{e}"));
        for f in &foreign {
            assert!(f.exists(), "{} is not a file prov wrote and is kept", f.display());
        }
        assert!(!own_tmp.exists(), "a temporary file left by a crashed run is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo").arg(path).status().unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "mkfifo {}", path.display());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_in_the_cache_directory_is_skipped_not_opened() {
        let dir = temp_dir("fifo");
        let cache = Cache::new(&dir, Duration::from_secs(3600));
        let _ = std::fs::create_dir_all(&dir);
        let url = "http://127.0.0.1:1/vultr/v2";
        let path = cache.path_for("vultr", url, Kind::Regions);
        mkfifo(&path);
        // Opening a FIFO for reading without a writer would block forever.
        assert_eq!(cache.load::<String>("vultr", url, Kind::Regions), None);
        let other = cache.path_for("vultr", "http://127.0.0.1:9/vultr/v2", Kind::Regions);
        mkfifo(&other);
        cache.store("vultr", url, Kind::Regions, &["syd".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cache.load::<String>("vultr", url, Kind::Regions).map(|h| h.items), Some(vec!["syd".to_owned()]));
        let kept = std::fs::symlink_metadata(&other).unwrap_or_else(|e| panic!("{e}"));
        assert!(kept.file_type().is_fifo(), "pruning leaves what is not a regular file alone");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn planted_symlinks_are_never_followed() {
        let dir = temp_dir("symlink");
        let cache = Cache::new(&dir, Duration::from_secs(3600));
        let _ = std::fs::create_dir_all(&dir);
        let victim = temp_dir("symlink-victim");
        std::fs::write(&victim, "precious").unwrap_or_else(|e| panic!("{e}"));
        let url = "http://127.0.0.1:1/vultr/v2";
        let path = cache.path_for("vultr", url, Kind::Regions);
        // The name the old code wrote to (`<entry>.<pid>.tmp`), and the entry itself.
        let predictable = path.with_extension(format!("{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &predictable).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(&victim, &path).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&victim, entry_text(url, &now_secs().to_string())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cache.load::<String>("vultr", url, Kind::Regions), None, "a symlinked entry is not read");
        std::fs::write(&victim, "precious").unwrap_or_else(|e| panic!("{e}"));
        cache.store("vultr", url, Kind::Regions, &["syd".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap_or_default(), "precious", "the target is untouched");
        let meta = std::fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(meta.file_type().is_file(), "the entry is now a regular file of its own");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "entries are private");
        assert!(cache.load::<String>("vultr", url, Kind::Regions).is_some());
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&victim);
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_directory_is_created_private() {
        let root = temp_dir("mode");
        let dir = root.join("nested").join("prov");
        let cache = Cache::new(&dir, Duration::from_secs(3600));
        cache.store("vultr", "http://127.0.0.1:1/v", Kind::Plans, &[1u8]).unwrap_or_else(|e| panic!("{e}"));
        let mode = std::fs::metadata(&dir).map(|m| m.permissions().mode() & 0o777).unwrap_or_default();
        assert_eq!(mode, 0o700, "mode {mode:o}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
