//! The SSRF guard: which URLs an endpoint may have, and which addresses a delivery may reach.
//!
//! A URL is checked when it is saved (scheme, credentials, an IP literal's range), and every
//! delivery resolves its host through [`GuardedResolver`], which drops addresses in private,
//! loopback, link-local and other non-public ranges. The HTTP client connects only to the
//! addresses that resolver returned, so a name that re-resolves to an internal address
//! between the check and the connection (DNS rebinding) cannot get through.

use std::error::Error as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// `webhooks.allow_insecure` and `webhooks.allow_private_networks`.
#[derive(Debug, Clone, Copy)]
pub struct UrlPolicy {
    pub allow_insecure: bool,
    pub allow_private_networks: bool,
}

/// Why a URL cannot be an endpoint's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a usable URL at all (400).
    #[error("{0}")]
    Invalid(String),
    /// A URL this deployment refuses to call (422).
    #[error("{0}")]
    Refused(String),
}

impl UrlPolicy {
    /// The URL as it will be called, or why not.
    pub fn check(&self, text: &str) -> Result<Url, UrlError> {
        if text.chars().count() > MAX_URL_CHARS {
            return Err(UrlError::Invalid(format!(
                "`url` must be at most {MAX_URL_CHARS} characters"
            )));
        }
        let url = Url::parse(text)
            .map_err(|e| UrlError::Invalid(format!("`url` is not an absolute URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            "http" => {
                return Err(UrlError::Refused(
                    "`url` must be https (webhooks.allow_insecure is false)".to_owned(),
                ));
            }
            other => {
                return Err(UrlError::Invalid(format!(
                    "`url` must be an https (or http) URL, not `{other}:`"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Invalid(
                "`url` must not carry credentials; receivers verify the signature instead"
                    .to_owned(),
            ));
        }
        if url.fragment().is_some() {
            return Err(UrlError::Invalid(
                "`url` must not have a #fragment".to_owned(),
            ));
        }
        match url.host() {
            None => return Err(UrlError::Invalid("`url` has no host".to_owned())),
            Some(Host::Domain(domain)) => {
                let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                if !self.allow_private_networks
                    && (domain == "localhost" || domain.ends_with(".localhost"))
                {
                    return Err(refused_private());
                }
            }
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
        }
        Ok(url)
    }

    /// Whether a delivery may connect to `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), UrlError> {
        if self.allow_private_networks || is_public(ip) {
            Ok(())
        } else {
            Err(refused_private())
        }
    }
}

fn refused_private() -> UrlError {
    UrlError::Refused(
        "`url` points at a private, loopback or link-local address (webhooks.allow_private_networks is false)"
            .to_owned(),
    )
}

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unspecified, broadcast, multicast, documentation or reserved.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)) // NAT64 of any IPv4 address
}

/// The error a delivery gets when its host resolves to refused addresses only.
#[derive(Debug, thiserror::Error)]
#[error("the host resolves only to addresses webhooks may not reach")]
pub struct AddressRefused;

/// Whether a request failed because of [`AddressRefused`].
pub fn is_address_refused(error: &reqwest::Error) -> bool {
    let mut source = error.source();
    while let Some(e) = source {
        if e.is::<AddressRefused>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// DNS for deliveries: the system's resolver, with every refused address removed.
pub struct GuardedResolver {
    pub policy: UrlPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved
                .filter(|addr| policy.check_ip(addr.ip()).is_ok())
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_insecure: false,
        allow_private_networks: false,
    };

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        for url in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://100.64.0.1/",
            "https://224.0.0.1/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::]/",
            "https://localhost/",
            "https://api.localhost./",
        ] {
            assert!(
                matches!(STRICT.check(url), Err(UrlError::Refused(_))),
                "{url} should be refused"
            );
            let open = UrlPolicy {
                allow_private_networks: true,
                ..STRICT
            };
            assert!(open.check(url).is_ok(), "{url} should pass when allowed");
        }
        assert!(STRICT.check("https://93.184.215.14/hook").is_ok());
        assert!(STRICT.check("https://[2606:4700::1111]/").is_ok());
        assert!(STRICT.check("https://example.com/hook?x=1").is_ok());
    }

    #[test]
    fn schemes_credentials_and_shapes() {
        assert!(matches!(
            STRICT.check("http://example.com/"),
            Err(UrlError::Refused(_))
        ));
        let insecure = UrlPolicy {
            allow_insecure: true,
            ..STRICT
        };
        assert!(insecure.check("http://example.com/").is_ok());
        for bad in [
            "example.com/hook",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "",
        ] {
            assert!(
                matches!(insecure.check(bad), Err(UrlError::Invalid(_))),
                "{bad} should be invalid"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(matches!(STRICT.check(&long), Err(UrlError::Invalid(_))));
    }

    /// The delivery path: a name is checked after resolution, whatever it looks like.
    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        use std::str::FromStr as _;
        let strict = GuardedResolver { policy: STRICT };
        let name = Name::from_str("localhost").unwrap();
        let refused = strict.resolve(name).await.err().unwrap();
        assert!(refused.is::<AddressRefused>(), "{refused}");

        let open = GuardedResolver {
            policy: UrlPolicy {
                allow_private_networks: true,
                ..STRICT
            },
        };
        let name = Name::from_str("localhost").unwrap();
        let addrs: Vec<SocketAddr> = open.resolve(name).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}
