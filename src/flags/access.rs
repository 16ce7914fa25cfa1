//! Who may publish and follow, from which pages, through which proxy.

use super::*;

pub const FLAGS: &[Flag] = &[
    Flag {
        name: "--token",
        value: "T",
        help: "require Authorization: Bearer T to publish; prefer $SSE_TOKEN or --token-file (ps shows flags to every user)",
        default: String::new,
        set: set_token,
    },
    Flag {
        name: "--token-file",
        value: "PATH",
        help: "--token, read from a file (systemd's LoadCredential= makes one)",
        default: String::new,
        set: |config, path| set_token(config, &read_secret_file(path)?),
    },
    Flag {
        name: "--auth-secret",
        value: "S",
        help: "check HS256 tokens signed with S; prefer $SSE_AUTH_SECRET or --auth-secret-file (ps shows flags to every user)",
        default: String::new,
        set: |config, value| {
            config.auth_secret = Some(check_secret(value)?);
            Ok(())
        },
    },
    Flag {
        name: "--auth-secret-file",
        value: "PATH",
        help: "--auth-secret, read from a file (systemd's LoadCredential= makes one)",
        default: String::new,
        set: |config, path| {
            config.auth_secret = Some(check_secret(&read_secret_file(path)?)?);
            Ok(())
        },
    },
    Flag {
        name: "--public",
        value: "PATTERN",
        help: "topics anyone may follow without a token (repeat)",
        default: String::new,
        set: |config, value| {
            for pattern in value.split(',').map(str::trim) {
                config.public_topics.push(check_public_pattern(pattern)?);
            }
            Ok(())
        },
    },
    Flag {
        name: "--allow-origin",
        value: "O",
        help: "let pages from origin O publish (repeat, or *)",
        default: String::new,
        set: |config, value| {
            for origin in value.split(',').map(str::trim) {
                config.allowed_origins.push(parse_allowed_origin(origin)?);
            }
            Ok(())
        },
    },
    Flag {
        name: "--trusted-proxy",
        value: "ADDR",
        help: "believe X-Forwarded-For/-Proto from this IP (repeat)",
        default: String::new,
        set: |config, value| {
            for address in value.split(',').map(str::trim) {
                config.trusted_proxies.push(parse_ip(address)?);
            }
            Ok(())
        },
    },
];
