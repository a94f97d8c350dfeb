//! Randomness from the operating system's CSPRNG, in the shapes the service needs.

use base64::Engine as _;

/// `N` random bytes. The OS generator failing is unrecoverable for a service that mints secrets.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    #[expect(
        clippy::expect_used,
        reason = "no safe way to continue without a CSPRNG"
    )]
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    buf
}

/// `n` random bytes as unpadded base64url (`n = 32` gives 256 bits in 43 characters).
pub fn token_urlsafe(n: usize) -> String {
    let mut buf = vec![0u8; n];
    #[expect(
        clippy::expect_used,
        reason = "no safe way to continue without a CSPRNG"
    )]
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// `n` random characters from `[A-Za-z0-9]` (unbiased: bytes >= 248 are redrawn).
pub fn alphanumeric(n: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in bytes::<32>() {
            if b < 248 && out.len() < n {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    out
}
