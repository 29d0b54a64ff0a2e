//! A minimal `log` backend for `-v`: prov's own crates log to stderr at the chosen level (`-v` info, `-vv` debug,
//! `-vvv` trace with redacted bodies). Core redacts secrets before logging; this only prints.

use std::io::Write;

struct StderrLogger {
    level: log::LevelFilter,
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level && metadata.target().starts_with("prov")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().to_string().to_lowercase();
            let line = crate::output::on_stderr(&record.args().to_string());
            let _ = writeln!(std::io::stderr().lock(), "[{level}] {line}");
        }
    }

    fn flush(&self) {}
}

/// Installs the logger for `verbose` (the count of `-v`).
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    if log::set_boxed_logger(Box::new(StderrLogger { level })).is_ok() {
        log::set_max_level(level);
    }
}
