//! `GET /.well-known/oauth-protected-resource/.well-known/mercure`: what a client needs to
//! know to get a token this hub accepts (spec, "Protected Resource Metadata"; RFC 9728).
//!
//! ```json
//! {"resource":"https://localhost/.well-known/mercure",
//!  "authorization_details_types_supported":["https://mercure.rocks/authorization-detail"],
//!  "bearer_methods_supported":["header"],
//!  "mercure_cookie":"__Secure-mercure_access_token",
//!  "mercure_subscriptions":true}
//! ```
//!
//! (`mercure_subscriptions` is `false` unless `--mercure-subscriptions` is given.)
//!
//! The path is RFC 9728 section 3.1's: the well-known prefix inserted before the hub
//! URL's path. `authorization_servers` is left out: tokens here are self-issued, signed
//! with the shared key. `mercure_matcher_types_supported` is left out too: this hub
//! supports exactly the spec's two types, which is what its absence means.

use crate::auth::json::quote;
use crate::config::MercureSettings;
use crate::mercure::token::DETAIL_TYPE;

/// The well-known prefix of RFC 9728 section 3.1.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Where the metadata of `resource` is: the prefix inserted between its authority and
/// its path (`https://localhost/.well-known/oauth-protected-resource/.well-known/mercure`).
pub fn metadata_url(resource: &str) -> String {
    let after_scheme = resource.find("://").map_or(0, |at| at + 3);
    let path_start = resource[after_scheme..]
        .find('/')
        .map_or(resource.len(), |at| after_scheme + at);
    format!(
        "{}{WELL_KNOWN}{}",
        &resource[..path_start],
        &resource[path_start..]
    )
}

/// The metadata document for `settings`.
pub fn document(settings: &MercureSettings) -> String {
    format!(
        "{{\"resource\":{},\"authorization_details_types_supported\":[{}],\
         \"bearer_methods_supported\":[\"header\"],\"mercure_cookie\":{},\
         \"mercure_subscriptions\":{}}}",
        quote(&settings.resource),
        quote(DETAIL_TYPE),
        quote(&settings.cookie),
        // Advertised only when offered (spec, "Active Subscriptions": SHOULD).
        settings.subscriptions
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::json::{self, Value};

    #[test]
    fn the_metadata_url_inserts_the_prefix_before_the_path() {
        assert_eq!(
            metadata_url("https://localhost/.well-known/mercure"),
            "https://localhost/.well-known/oauth-protected-resource/.well-known/mercure"
        );
        assert_eq!(
            metadata_url("https://hub.example:8443/.well-known/mercure"),
            "https://hub.example:8443/.well-known/oauth-protected-resource/.well-known/mercure"
        );
    }

    #[test]
    fn the_document_names_the_resource_and_how_to_present_a_token() {
        let parsed = json::parse(&document(&MercureSettings::default())).unwrap();
        assert_eq!(
            parsed.get("resource"),
            Some(&Value::String(
                "https://localhost/.well-known/mercure".into()
            ))
        );
        assert_eq!(
            parsed.get("mercure_cookie"),
            Some(&Value::String("__Secure-mercure_access_token".into()))
        );
        assert_eq!(
            parsed.get("mercure_subscriptions"),
            Some(&Value::Bool(false)),
            "off unless --mercure-subscriptions"
        );
        let offered = MercureSettings {
            subscriptions: true,
            ..MercureSettings::default()
        };
        let parsed = json::parse(&document(&offered)).unwrap();
        assert_eq!(
            parsed.get("mercure_subscriptions"),
            Some(&Value::Bool(true))
        );
    }
}
