//! `prov sandbox`: serves every provider's dialect on a loopback address in the foreground until Ctrl-C or
//! SIGTERM, after printing the `export` lines that point prov (or anything else) at it.

use std::io::Write;
use std::net::SocketAddr;

use prov_sandbox::{Sandbox, SandboxOptions};

use crate::settings::{dialects, registry, secs};
use crate::{CmdResult, Failure};

pub(crate) fn run(listen: &str, boot_secs: f64, faults: &[String], latency_ms: u64) -> CmdResult {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| Failure::usage(format!("--listen `{listen}` is not an address like 127.0.0.1:8710")))?;
    if !addr.ip().is_loopback() {
        return Err(Failure::usage(format!(
            "--listen `{listen}`: the sandbox only listens on loopback (127.0.0.1 or ::1)"
        )));
    }
    let image_count = std::env::var("PROV_SANDBOX_IMAGES").ok().and_then(|v| v.parse().ok());
    let opts = SandboxOptions {
        boot: secs(boot_secs)?,
        latency: std::time::Duration::from_millis(latency_ms),
        faults: crate::settings::fault_spec(faults),
    };
    let sb = Sandbox::start(&addr.to_string(), dialects(image_count), opts)
        .map_err(|e| crate::settings::sandbox_failure(&format!("cannot listen on {addr}"), &e))?;
    let mut out = std::io::stdout().lock();
    for info in registry() {
        let _ = writeln!(out, "export {}={}", info.url_env, sb.base_url(info.sandbox_path));
        if let Some(var) = info.token_env.first() {
            let _ = writeln!(out, "export {var}={}", crate::settings::SANDBOX_TOKEN);
        }
    }
    let _ = out.flush();
    drop(out);
    crate::output::note(&format!(
        "sandbox listening on http://{} (boot {boot_secs}s); any non-empty token works; Ctrl-C to stop",
        sb.addr()
    ));
    // Until Ctrl-C or SIGTERM (the process-wide handler sets the cancel flag).
    let stop = crate::cancel_flag();
    while !prov_core::Clock::sleep_unless(&prov_core::SystemClock, std::time::Duration::from_secs(3600), &stop) {}
    crate::output::note("sandbox stopped");
    sb.shutdown();
    Ok(())
}
