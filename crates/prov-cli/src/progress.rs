//! Progress while waiting, on stderr: one spinner line per instance with elapsed time and status on a terminal
//! (indicatif), one plain line per status change otherwise. Never on stdout.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use prov_core::Instance;

/// Progress of a set of instances.
pub struct Progress {
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    last: Mutex<BTreeMap<String, String>>,
    start: Instant,
}

impl Progress {
    /// Spinners when stderr is a terminal (and `NO_COLOR`/`TERM=dumb` do not ask otherwise), plain lines else.
    pub fn new() -> Self {
        let tty = std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Self {
            multi: tty.then(MultiProgress::new),
            bars: Mutex::new(BTreeMap::new()),
            last: Mutex::new(BTreeMap::new()),
            start: Instant::now(),
        }
    }

    fn line(inst: &Instance) -> String {
        let ip = inst.ipv4.as_deref().map(|ip| format!(" {ip}")).unwrap_or_default();
        format!("{} {}: {} ({}){ip}", inst.provider, inst.label, inst.status, inst.provider_status)
    }

    /// Shows a new observation of `inst`.
    pub fn update(&self, inst: &Instance) {
        let key = format!("{}/{}", inst.provider, inst.id);
        let line = Self::line(inst);
        match &self.multi {
            Some(multi) => {
                let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
                let bar = bars.entry(key).or_insert_with(|| {
                    let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    let bar = multi.add(ProgressBar::new_spinner().with_style(style));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(line);
            }
            None => {
                let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
                if last.get(&key) != Some(&line) {
                    crate::output::note(&format!("{line} after {}s", self.start.elapsed().as_secs()));
                    last.insert(key, line);
                }
            }
        }
    }

    /// Marks `inst` finished (the spinner stops with its last line).
    pub fn finish(&self, inst: &Instance) {
        if self.multi.is_some() {
            let key = format!("{}/{}", inst.provider, inst.id);
            if let Some(bar) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
                bar.finish_with_message(Self::line(inst));
            }
        } else {
            self.update(inst);
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}
