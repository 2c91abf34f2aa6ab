//! Tenants as the archive keeps them: a normalised URL (scheme, host, port, path; never a
//! user name or password, a query or a fragment) plus the account where the vendor has one
//! (`https://api.recruitee.com/c/90598`). Two spellings of one tenant (`:018911`, a trailing
//! `/.`, an upper-case host) are one tenant, and no secret is ever stored.
//!
//! Archives written before this kept the base URL as given (with any `user:password@`) and,
//! for Feishu, the app id (`…#app_id=cli_…`): each backend rewrites them ([`from_legacy`]),
//! merging streams and events that were one tenant under two spellings, and chains the events
//! again (after checking that the old chain was intact).

/// A base URL as a tenant: scheme, lower-case host, the port unless it is the scheme's
/// default, and the path without dot segments or a trailing `/`. Text that is no URL is kept
/// with anything before an `@` in its authority dropped.
pub fn normalize(base: &str) -> String {
    let text = base.trim();
    match url::Url::parse(text) {
        Ok(u) if u.has_host() => {
            let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default());
            if let Some(port) = u.port() {
                out.push_str(&format!(":{port}"));
            }
            out.push_str(u.path().trim_end_matches('/'));
            out
        }
        _ => match text.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority.rsplit('@').next().unwrap_or(authority);
                format!("{scheme}://{host}{path}")
            }
            None => text.to_string(),
        },
    }
}

/// What an archive written before normalisation kept, as a tenant now.
pub(crate) fn from_legacy(old: &str) -> String {
    if old == "sandbox" {
        return old.to_string();
    }
    // Feishu: `base#app_id=…` (the app id named the app, not the tenant).
    let base = old.split("#app_id=").next().unwrap_or(old);
    normalize(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tenant_is_one_spelling_and_never_holds_a_secret() {
        for (given, want) in [
            ("https://api.recruitee.com", "https://api.recruitee.com"),
            ("https://API.Recruitee.com/", "https://api.recruitee.com"),
            ("http://127.0.0.1:018911/.", "http://127.0.0.1:18911"),
            ("https://open.feishu.cn:443/", "https://open.feishu.cn"),
            (
                "http://gwuser:s3cret@gw.example.com/feishu/",
                "http://gw.example.com/feishu",
            ),
            (
                "https://gw.example.com/a/../feishu",
                "https://gw.example.com/feishu",
            ),
        ] {
            assert_eq!(normalize(given), want, "{given}");
        }
        assert_eq!(from_legacy("http://u:p@h:80/x/#app_id=cli_1"), "http://h/x");
        assert_eq!(
            from_legacy("https://api.recruitee.com/c/90598"),
            "https://api.recruitee.com/c/90598"
        );
        assert_eq!(from_legacy("sandbox"), "sandbox");
    }
}
