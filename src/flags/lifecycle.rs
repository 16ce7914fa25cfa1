//! Stopping gracefully, and where probes and scrapers are answered.

use super::*;

pub const FLAGS: &[Flag] = &[
    Flag {
        name: "--drain-spread-s",
        value: "N",
        help: "at shutdown, spread reconnects over retry-ms + up to N s",
        default: || config::DEFAULT_DRAIN_SPREAD_S.to_string(),
        set: |config, value| {
            let mut secs = 0u64;
            set_number(&mut secs, value)?;
            config.drain_spread = Duration::from_secs(secs);
            Ok(())
        },
    },
    Flag {
        name: "--drain-window-s",
        value: "N",
        help: "at shutdown, accept N s more with /readyz 503 and new streams refused, then end the streams",
        default: || config::DEFAULT_DRAIN_WINDOW_S.to_string(),
        set: |config, value| {
            let mut secs = 0u64;
            set_number(&mut secs, value)?;
            config.drain_window = Duration::from_secs(secs);
            Ok(())
        },
    },
    Flag {
        name: "--admin-bind",
        value: "ADDR:PORT",
        help: "serve /metrics, /stats, /healthz, /readyz here only, not on --bind",
        default: String::new,
        set: |config, value| {
            let address: SocketAddr = value
                .parse()
                .map_err(|_| "not an IP address and port, such as 127.0.0.1:9100".to_string())?;
            config.admin_bind = Some(address);
            Ok(())
        },
    },
];
