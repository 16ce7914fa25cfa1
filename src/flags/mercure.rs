//! The Mercure hub (chapter 6): its key, issuer, resource identifier and cookie, and how
//! many distinct URL patterns it holds (`mercure/index.rs`).

use super::*;

pub const FLAGS: &[Flag] = &[
    Flag {
        name: "--mercure-key",
        value: "S",
        help: "Mercure tokens are HS256 with S (or $SSE_MERCURE_KEY; else --auth-secret)",
        default: String::new,
        set: |config, value| {
            config.mercure.key = Some(check_secret(value)?);
            Ok(())
        },
    },
    Flag {
        name: "--mercure-issuer",
        value: "ISS",
        help: "the iss a Mercure token must carry",
        default: || config::DEFAULT_MERCURE_ISSUER.into(),
        set: |config, value| {
            if value.is_empty() {
                return Err("must not be empty".into());
            }
            config.mercure.issuer = value.to_string();
            Ok(())
        },
    },
    Flag {
        name: "--mercure-resource",
        value: "URL",
        help: "the hub's URL: a Mercure token's aud must hold it",
        default: || config::DEFAULT_MERCURE_RESOURCE.into(),
        set: |config, value| {
            let hub = HubUrl::parse(value)?;
            // The routes serve the hub at one path (routes.rs); a resource naming
            // another would put the reserved namespace where the hub is not.
            if hub.path != crate::routes::MERCURE_PATH {
                return Err(format!("its path must be {}", crate::routes::MERCURE_PATH));
            }
            config.mercure.resource = value.to_string();
            Ok(())
        },
    },
    Flag {
        name: "--mercure-cookie",
        value: "NAME",
        help: "the cookie a browser sends its Mercure token in",
        default: || config::DEFAULT_MERCURE_COOKIE.into(),
        set: |config, value| {
            let token_char = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
            if value.is_empty() || !value.chars().all(token_char) {
                return Err("is not a cookie name (RFC 6265 section 4.1.1)".into());
            }
            config.mercure.cookie = value.to_string();
            Ok(())
        },
    },
    Flag {
        name: "--mercure-max-patterns",
        value: "N",
        help: "distinct Mercure URL patterns at once, each tried on every update to its host (then 503)",
        default: || config::DEFAULT_MERCURE_MAX_PATTERNS.to_string(),
        set: |config, value| set_positive(&mut config.mercure.max_patterns, value),
    },
    Flag {
        name: "--mercure-patterns-per-client",
        value: "N",
        help: "distinct Mercure URL patterns one client address may follow (then 503)",
        default: || config::DEFAULT_MERCURE_PATTERNS_PER_CLIENT.to_string(),
        set: |config, value| set_positive(&mut config.mercure.patterns_per_client, value),
    },
    Flag {
        name: "--mercure-patterns-per-subject",
        value: "N",
        help: "distinct Mercure URL patterns one token subject may follow (then 503)",
        default: || config::DEFAULT_MERCURE_PATTERNS_PER_SUBJECT.to_string(),
        set: |config, value| set_positive(&mut config.mercure.patterns_per_subject, value),
    },
];
