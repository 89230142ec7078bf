//! Who may change the running daemon: the `[api] tokens_file` (lines of
//! `NAME TOKEN`, `#` comments) and the check of a request's
//! `Authorization: Bearer TOKEN` against it.
//!
//! Read by the daemon at start and on every reload ([`load`]); the API
//! server holds the current set in a [`TokenStore`] (an `Arc<RwLock>`
//! shared with the daemon, swapped whole, never partly). Reads of the API
//! never look here; only writes (`super::control`) do. Tokens are compared
//! in constant time, and every configured token is compared on every
//! request, so the answer's timing says nothing about which one came close.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use thiserror::Error;

/// Shortest token accepted: a guessable token is no authentication.
pub const MIN_TOKEN_LEN: usize = 16;

/// One named token.
#[derive(Clone)]
struct Entry {
    name: String,
    token: Vec<u8>,
}

/// The loaded tokens file.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<Entry>,
    /// Where they came from (named in messages).
    path: PathBuf,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets.
        let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        f.debug_struct("Tokens")
            .field("path", &self.path)
            .field("names", &names)
            .finish()
    }
}

/// Why a tokens file could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokensFileError {
    #[error("{path}: cannot read the tokens file: {error}")]
    Read { path: String, error: String },
    #[error("{path}:{line}: expected `NAME TOKEN`")]
    Syntax { path: String, line: usize },
    #[error("{path}:{line}: the token of {name} is shorter than {MIN_TOKEN_LEN} characters")]
    Short {
        path: String,
        line: usize,
        name: String,
    },
    #[error("{path}:{line}: {name} is named twice (first on line {first})")]
    Duplicate {
        path: String,
        line: usize,
        name: String,
        first: usize,
    },
}

/// Why a write request was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `[api] tokens_file`: writes are off (403).
    #[error("the API is read-only: set [api] tokens_file in the configuration (lines of `NAME TOKEN`) and reload to allow changes")]
    WritesDisabled,
    /// No `Authorization: Bearer` header (401).
    #[error("authentication required: send `Authorization: Bearer TOKEN` (coldpotato --token-file FILE)")]
    Missing,
    /// A token that is not in the file (401).
    #[error("invalid token")]
    Invalid,
}

impl Tokens {
    /// Parses the file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Tokens, TokensFileError> {
        let shown = path.display().to_string();
        let mut entries: Vec<(Entry, usize)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut fields = content.split_whitespace();
            let (Some(name), Some(token), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(TokensFileError::Syntax { path: shown, line });
            };
            if token.len() < MIN_TOKEN_LEN {
                return Err(TokensFileError::Short {
                    path: shown,
                    line,
                    name: name.to_string(),
                });
            }
            if let Some((_, first)) = entries.iter().find(|(e, _)| e.name == name) {
                return Err(TokensFileError::Duplicate {
                    path: shown,
                    line,
                    name: name.to_string(),
                    first: *first,
                });
            }
            entries.push((
                Entry {
                    name: name.to_string(),
                    token: token.as_bytes().to_vec(),
                },
                line,
            ));
        }
        Ok(Tokens {
            entries: entries.into_iter().map(|(e, _)| e).collect(),
            path: path.to_path_buf(),
        })
    }

    /// How many tokens the file holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the file holds no token (every write is refused with 401).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name of the token `presented`, compared in constant time with
    /// every configured token.
    pub fn who(&self, presented: &[u8]) -> Option<&str> {
        let mut found: Option<&str> = None;
        for e in &self.entries {
            if ct_eq(&e.token, presented) && found.is_none() {
                found = Some(&e.name);
            }
        }
        found
    }
}

/// Reads and parses a tokens file; warns (log) when its group or others
/// may read it.
pub fn load(path: &Path) -> Result<Tokens, TokensFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokensFileError::Read {
        path: path.display().to_string(),
        error: e.to_string(),
    })?;
    warn_if_readable(path);
    Tokens::parse(&text, path)
}

#[cfg(unix)]
fn warn_if_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        let mode = m.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "the API tokens file is readable by its group or others; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable(_: &Path) {}

/// Equal contents, in a time that depends on the lengths only.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // Walk the longer of the two whatever the contents; the length
    // difference itself is folded in, not returned early.
    let n = a.len().max(b.len());
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// The tokens the API checks writes against: `None` when no tokens file
/// is configured (writes refused with 403). Shared by the daemon (which
/// replaces it on reload) and the API server.
#[derive(Debug, Clone, Default)]
pub struct TokenStore(Arc<RwLock<Option<Tokens>>>);

impl TokenStore {
    /// A store holding `tokens`.
    pub fn new(tokens: Option<Tokens>) -> TokenStore {
        TokenStore(Arc::new(RwLock::new(tokens)))
    }

    /// Replaces the tokens (reload).
    pub fn set(&self, tokens: Option<Tokens>) {
        match self.0.write() {
            Ok(mut g) => *g = tokens,
            Err(p) => *p.into_inner() = tokens,
        }
    }

    /// Who sent this `Authorization` header value, if it is allowed to write.
    pub fn authorize(&self, header: Option<&[u8]>) -> Result<String, AuthError> {
        let guard = match self.0.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let Some(tokens) = guard.as_ref() else {
            return Err(AuthError::WritesDisabled);
        };
        let header = header.ok_or(AuthError::Missing)?;
        let token = bearer(header).ok_or(AuthError::Missing)?;
        tokens
            .who(token)
            .map(str::to_string)
            .ok_or(AuthError::Invalid)
    }
}

/// The token of an `Authorization: Bearer TOKEN` value (scheme
/// case-insensitive, RFC 6750 §2.1).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// The token a client sends, read from a file: the first line that is
/// not a comment, either `TOKEN` alone or `NAME TOKEN` (so the daemon's
/// file, or one line of it, works too).
pub fn client_token(text: &str) -> Option<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .and_then(|l| l.split_whitespace().last())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123";
    const B: &str = "fedcba9876543210fedc";

    fn store() -> TokenStore {
        let text = format!("# operators\nnoc {A}   # the NOC\n\ndeploy\t{B}\n");
        TokenStore::new(Some(Tokens::parse(&text, Path::new("t")).unwrap()))
    }

    #[test]
    fn a_known_bearer_token_names_who_asked() {
        let s = store();
        assert_eq!(
            s.authorize(Some(format!("Bearer {A}").as_bytes())),
            Ok("noc".into())
        );
        assert_eq!(
            s.authorize(Some(format!("bearer  {B} ").as_bytes())),
            Ok("deploy".into())
        );
    }

    #[test]
    fn missing_wrong_or_malformed_tokens_are_refused() {
        let s = store();
        assert_eq!(s.authorize(None), Err(AuthError::Missing));
        assert_eq!(s.authorize(Some(A.as_bytes())), Err(AuthError::Missing));
        assert_eq!(
            s.authorize(Some(format!("Basic {A}").as_bytes())),
            Err(AuthError::Missing)
        );
        assert_eq!(s.authorize(Some(b"Bearer ")), Err(AuthError::Missing));
        assert_eq!(
            s.authorize(Some(format!("Bearer {A}x").as_bytes())),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            s.authorize(Some(format!("Bearer {}", &A[..19]).as_bytes())),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn without_a_tokens_file_writes_are_disabled() {
        let s = TokenStore::default();
        assert_eq!(
            s.authorize(Some(format!("Bearer {A}").as_bytes())),
            Err(AuthError::WritesDisabled)
        );
        assert!(AuthError::WritesDisabled
            .to_string()
            .contains("tokens_file"));
    }

    #[test]
    fn reload_replaces_the_tokens() {
        let s = store();
        s.set(Some(
            Tokens::parse(&format!("ops {B}"), Path::new("t")).unwrap(),
        ));
        assert_eq!(
            s.authorize(Some(format!("Bearer {A}").as_bytes())),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            s.authorize(Some(format!("Bearer {B}").as_bytes())),
            Ok("ops".into())
        );
    }

    #[test]
    fn file_errors_name_the_line() {
        let p = Path::new("/etc/tokens");
        assert_eq!(
            Tokens::parse("noc\n", p).unwrap_err().to_string(),
            "/etc/tokens:1: expected `NAME TOKEN`"
        );
        assert_eq!(
            Tokens::parse("# c\nnoc short\n", p)
                .unwrap_err()
                .to_string(),
            "/etc/tokens:2: the token of noc is shorter than 16 characters"
        );
        assert!(matches!(
            Tokens::parse(&format!("a {A}\na {B}"), p),
            Err(TokensFileError::Duplicate {
                line: 2,
                first: 1,
                ..
            })
        ));
        assert!(matches!(
            Tokens::parse(&format!("a {A} extra"), p),
            Err(TokensFileError::Syntax { .. })
        ));
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let t = Tokens::parse(&format!("noc {A}"), Path::new("t")).unwrap();
        let shown = format!("{t:?}");
        assert!(shown.contains("noc") && !shown.contains(A), "{shown}");
    }

    #[test]
    fn constant_time_comparison_is_plain_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"", b"a"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn a_client_token_file_is_a_token_or_a_name_and_token() {
        assert_eq!(client_token(&format!("# me\n{A}\n")), Some(A.to_string()));
        assert_eq!(client_token(&format!("noc {A}\n")), Some(A.to_string()));
        assert_eq!(client_token("# nothing\n\n"), None);
    }
}
