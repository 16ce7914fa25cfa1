//! Every flag that takes no value: one row each, like the value flags of `flags/`,
//! from which the parser, the environment rule and `--help` are built (`cli.rs`).

use crate::config::Config;

/// One flag that takes no value: given, it turns something on (or off).
pub struct Switch {
    /// `--name`.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// What giving it changes in the configuration.
    pub set: fn(&mut Config),
}

/// Every flag that takes no value, in `--help` order.
pub const SWITCHES: &[Switch] = &[
    Switch {
        name: "--open",
        help: "let anyone publish on purpose, on a non-loopback --bind or behind --trusted-proxy",
        set: |config| config.open = true,
    },
    Switch {
        name: "--no-demo",
        help: "serve no demo routes (the counter, the clock, the demo page)",
        set: |config| config.demo = false,
    },
    Switch {
        name: "--mercure-subscriptions",
        help: "publish Mercure subscription events and serve the subscriptions API (presence)",
        set: |config| config.mercure.subscriptions = true,
    },
];

/// Reads a switch's environment variable: `1`, `true` or `yes` turn it on; `0`,
/// `false`, `no` and an empty value leave it off (so a systemd `EnvironmentFile=`
/// line `SSE_OPEN=` means off). Anything else is an error, not a guess.
pub fn parse_switch_value(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "" | "0" | "false" | "no" => Ok(false),
        _ => Err("is not 1/true/yes or 0/false/no".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_variable_is_on_or_off_and_nothing_else() {
        assert_eq!(parse_switch_value("1"), Ok(true));
        assert_eq!(parse_switch_value("Yes"), Ok(true));
        assert_eq!(parse_switch_value(""), Ok(false));
        assert_eq!(parse_switch_value("false"), Ok(false));
        assert!(parse_switch_value("on-ish").is_err());
    }
}
