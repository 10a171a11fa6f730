//! How to reach a locked-down ZooKeeper: digest credentials and TLS files, taken from the
//! environment only, so that a secret never appears on a command line (visible to every user in
//! `ps`) nor in a repository.
//!
//! - `JONES_SYNC_ZK_AUTH=user:password`, or `JONES_SYNC_ZK_AUTH_FILE=<file>` holding `user:password`
//!   (one trailing newline is ignored): ZooKeeper digest authentication. Setting both is an error.
//! - `JONES_SYNC_ZK_TLS_CA=<pem file>`: the CA that signed the servers' certificates, needed for
//!   `tcp+tls://` hosts; `JONES_SYNC_ZK_TLS_CERT` and `JONES_SYNC_ZK_TLS_KEY` (PEM files): a client
//!   certificate, for servers that require one. TLS needs the `tls` cargo feature.
//!
//! Invariant: [`Credentials`] never shows its password: `Debug` redacts it and no error message
//! holds it.

use std::fmt;
use std::path::PathBuf;

use zookeeper_client as zk;

pub const AUTH_VAR: &str = "JONES_SYNC_ZK_AUTH";
pub const AUTH_FILE_VAR: &str = "JONES_SYNC_ZK_AUTH_FILE";
pub const TLS_CA_VAR: &str = "JONES_SYNC_ZK_TLS_CA";
pub const TLS_CERT_VAR: &str = "JONES_SYNC_ZK_TLS_CERT";
pub const TLS_KEY_VAR: &str = "JONES_SYNC_ZK_TLS_KEY";

/// Digest credentials: `user:password`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `user:password`, as ZooKeeper's digest scheme takes it.
    pub fn auth_bytes(&self) -> Vec<u8> {
        format!("{}:{}", self.user, self.password).into_bytes()
    }

    /// The identity ZooKeeper gives a session with these credentials: `user:<base64 SHA-1 of
    /// user:password>`, as its `DigestAuthenticationProvider` computes it (the id of a `digest` ACL
    /// entry). Holds no secret a digest ACL does not already show.
    pub fn digest_id(&self) -> String {
        use sha1::Digest;
        let hash = sha1::Sha1::digest(self.auth_bytes());
        format!("{}:{}", self.user, base64(&hash))
    }

    /// Parses `user:password`; `source` names where it came from, for the error.
    pub fn parse(text: &str, source: &str) -> Result<Credentials, ConnectConfigError> {
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Ok(Credentials { user: user.to_string(), password: password.to_string() })
            }
            _ => Err(ConnectConfigError::BadCredentials { origin: source.to_string() }),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

/// Standard base64 with padding (RFC 4648), as ZooKeeper encodes digests.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// PEM files for `tcp+tls://` hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Everything besides the connect string that a connection needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    pub auth: Option<Credentials>,
    pub tls: TlsFiles,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectConfigError {
    #[error("{origin} must hold `user:password` (both non-empty)")]
    BadCredentials { origin: String },
    #[error("set only one of {AUTH_VAR} and {AUTH_FILE_VAR}")]
    BothAuth,
    #[error("cannot read {AUTH_FILE_VAR} file `{}`: {error}", path.display())]
    AuthFile { path: PathBuf, error: std::io::Error },
    #[error("{0} is not valid Unicode")]
    NotUnicode(&'static str),
}

impl ConnectOptions {
    /// Reads the options from the process environment.
    pub fn from_env() -> Result<ConnectOptions, ConnectConfigError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// Reads the options from `var` (an environment lookup), for tests.
    pub fn from_vars(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<ConnectOptions, ConnectConfigError> {
        let text = |name: &'static str| -> Result<Option<String>, ConnectConfigError> {
            match var(name) {
                None => Ok(None),
                Some(value) if value.is_empty() => Ok(None),
                Some(value) => value.into_string().map(Some).map_err(|_| ConnectConfigError::NotUnicode(name)),
            }
        };
        let path = |name: &'static str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let auth = match (text(AUTH_VAR)?, path(AUTH_FILE_VAR)) {
            (Some(_), Some(_)) => return Err(ConnectConfigError::BothAuth),
            (Some(value), None) => Some(Credentials::parse(&value, AUTH_VAR)?),
            (None, Some(file)) => {
                let content = std::fs::read_to_string(&file)
                    .map_err(|error| ConnectConfigError::AuthFile { path: file.clone(), error })?;
                let line = content.strip_suffix('\n').unwrap_or(&content);
                let line = line.strip_suffix('\r').unwrap_or(line);
                Some(Credentials::parse(line, &format!("the {AUTH_FILE_VAR} file `{}`", file.display()))?)
            }
            (None, None) => None,
        };
        let tls = TlsFiles { ca: path(TLS_CA_VAR), cert: path(TLS_CERT_VAR), key: path(TLS_KEY_VAR) };
        Ok(ConnectOptions { auth, tls })
    }
}

/// TLS for `tcp+tls://` hosts, from PEM files.
#[cfg(feature = "tls")]
pub(super) fn with_tls(connector: zk::Connector, files: &TlsFiles) -> Result<zk::Connector, String> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|err| format!("cannot read `{}`: {err}", path.display()))
    };
    let Some(ca) = &files.ca else {
        return Err(format!("set {} to the PEM file of the CA that signed the servers' certificates", TLS_CA_VAR));
    };
    let mut options = zk::TlsOptions::new()
        .with_pem_ca(&read(ca)?)
        .map_err(|err| format!("bad CA file `{}`: {err}", ca.display()))?;
    match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            options = options.with_pem_identity(&read(cert)?, &read(key)?).map_err(|err| {
                format!("bad client certificate `{}` or key `{}`: {err}", cert.display(), key.display())
            })?;
        }
        (None, None) => {}
        _ => {
            return Err(format!("a client certificate needs both {} and {}", TLS_CERT_VAR, TLS_KEY_VAR));
        }
    }
    Ok(connector.with_tls(options))
}

#[cfg(not(feature = "tls"))]
pub(super) fn with_tls(_: zk::Connector, _: &TlsFiles) -> Result<zk::Connector, String> {
    Err("this jones-sync was built without TLS support: build it with `--features tls`".into())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::ffi::OsString;

    use super::*;

    fn options(vars: &[(&str, &str)]) -> Result<ConnectOptions, ConnectConfigError> {
        let vars: HashMap<String, OsString> = vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        ConnectOptions::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn credentials_from_the_variable_or_a_file() {
        let auth = options(&[(AUTH_VAR, "deploy:s3:cret")]).unwrap().auth.unwrap();
        assert_eq!(auth.user(), "deploy");
        assert_eq!(auth.auth_bytes(), b"deploy:s3:cret");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth");
        std::fs::write(&file, "deploy:from-file\n").unwrap();
        let auth = options(&[(AUTH_FILE_VAR, file.to_str().unwrap())]).unwrap().auth.unwrap();
        assert_eq!(auth.auth_bytes(), b"deploy:from-file");
        assert_eq!(options(&[]).unwrap(), ConnectOptions::default());
    }

    #[test]
    fn the_digest_id_is_what_zookeeper_computes() {
        // `echo -n deploy:secret | openssl dgst -binary -sha1 | openssl base64`
        let auth = Credentials::parse("deploy:secret", AUTH_VAR).unwrap();
        assert_eq!(auth.digest_id(), "deploy:rSpU/XyHmx21xPS/a6gMkHIbvkE=");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn mistakes_never_show_the_secret() {
        let err = options(&[(AUTH_VAR, "justapassword")]).unwrap_err().to_string();
        assert_eq!(err, "JONES_SYNC_ZK_AUTH must hold `user:password` (both non-empty)");
        let both = options(&[(AUTH_VAR, "a:b"), (AUTH_FILE_VAR, "/x")]).unwrap_err().to_string();
        assert_eq!(both, "set only one of JONES_SYNC_ZK_AUTH and JONES_SYNC_ZK_AUTH_FILE");
        let auth = options(&[(AUTH_VAR, "deploy:hunter2")]).unwrap();
        assert!(!format!("{auth:?}").contains("hunter2"), "{auth:?}");
    }
}
