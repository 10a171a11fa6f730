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
//! The connect string itself is checked before connecting ([`check_connect_string`]): a mistake
//! (a URL scheme, a chroot in the wrong place, a bad port, white space from a copied secret) is
//! named with what to write instead, rather than surfacing as a ZooKeeper path error or a wait for
//! the whole timeout. A trailing `/` of the chroot is dropped, as a plan's target comparison
//! ignores it.
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

/// What a connect string looks like, for error messages.
pub const FORM: &str = "`host:port[,host:port...][/chroot]`, e.g. `zk1:2181,zk2:2181/jones` \
                        (`tcp+tls://host:port` for TLS)";

/// A connect string that passed [`check_connect_string`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// The string to connect with: as written, without a trailing `/` of the chroot.
    pub text: String,
    /// The servers named by a host name (not an IP address), with their port: what must resolve.
    pub names: Vec<(String, u16)>,
}

/// Checks a connect string's form (nothing is contacted or resolved): servers `host[:port]`
/// (port 2181 by default), each optionally `tcp://` or `tcp+tls://`, separated by commas, then
/// optionally a chroot path after the last one. Returns why not, and what to write, in a sentence.
pub fn check_connect_string(text: &str) -> Result<ConnectString, String> {
    if text.is_empty() {
        return Err(format!("it is empty; write {FORM}"));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(format!(
            "it contains white space (a line break or a space copied along with it?); write it without, as {FORM}"
        ));
    }
    let servers: Vec<&str> = text.split(',').collect();
    let mut names = Vec::new();
    let mut normalized = Vec::new();
    for (i, server) in servers.iter().enumerate() {
        let last = i + 1 == servers.len();
        if server.is_empty() {
            let why = if last { "it ends with a comma" } else { "it has an empty server between two commas" };
            return Err(format!("{why}; write {FORM}"));
        }
        let (scheme, rest) = match server.split_once("://") {
            Some((scheme @ ("tcp" | "tcp+tls"), rest)) => (Some(scheme), rest),
            Some((scheme, _)) => {
                return Err(format!(
                    "`{scheme}://` is not a ZooKeeper address: a server is `host:port`, without a URL scheme; \
                     write {FORM}"
                ));
            }
            None => (None, *server),
        };
        let (address, chroot) = match rest.find('/') {
            Some(at) => (&rest[..at], Some(&rest[at..])),
            None => (rest, None),
        };
        if chroot.is_some() && !last {
            return Err(format!(
                "a chroot (`{}`) goes once, after the last server: write `host:port,host:port/chroot`",
                chroot.unwrap_or_default()
            ));
        }
        let (host, port) = check_address(address)?;
        if host.parse::<std::net::IpAddr>().is_err() {
            names.push((host.to_string(), port));
        }
        let chroot = match chroot {
            Some(chroot) => check_chroot(chroot)?,
            None => String::new(),
        };
        let scheme = scheme.map(|s| format!("{s}://")).unwrap_or_default();
        normalized.push(format!("{scheme}{address}{chroot}"));
    }
    Ok(ConnectString { text: normalized.join(","), names })
}

/// `host[:port]` or `[ipv6][:port]`: the host and the port (2181 when not given).
fn check_address(address: &str) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return Err(format!("`{address}` opens `[` without closing it; write an IPv6 server as `[::1]:2181`"));
        };
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("`{ip}` in brackets is not an IPv6 address; write an IPv6 server as `[::1]:2181`"));
        }
        match after {
            "" => (ip, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return Err(format!("`{address}`: write an IPv6 server as `[::1]:2181`")),
            },
        }
    } else {
        match address.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err(format!("`{address}` has more than one `:`; write an IPv6 server as `[::1]:2181`"));
            }
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(format!("a server has no host (`{address}`); write {FORM}"));
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':')) {
        return Err(format!("`{host}` is not a host name or an IP address; write {FORM}"));
    }
    let port = match port {
        None => 2181,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(format!("the port of `{address}` is not a port number (1 to 65535); write {FORM}")),
        },
    };
    Ok((host, port))
}

/// A chroot path, without its trailing `/` (`/` alone is no chroot).
fn check_chroot(chroot: &str) -> Result<String, String> {
    let trimmed = chroot.trim_end_matches('/');
    for name in trimmed.split('/').skip(1) {
        let why = match name {
            "" => "has an empty node name (`//`)",
            "." | ".." => "has a `.` or `..` node name, which ZooKeeper does not allow",
            _ if name.chars().any(char::is_control) => "has a control character",
            _ => continue,
        };
        return Err(format!("the chroot `{chroot}` {why}; write a path such as `/jones`"));
    }
    Ok(trimmed.to_string())
}

/// Standard base64 with padding (RFC 4648), as ZooKeeper encodes digests.
pub(crate) fn base64(bytes: &[u8]) -> String {
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

/// The environment variable holding a target's credentials: `JONES_SYNC_ZK_AUTH_<TARGET>`, the
/// name upper-cased and every character but a letter or digit made `_` (`use1-canary` →
/// `JONES_SYNC_ZK_AUTH_USE1_CANARY`).
pub fn target_auth_var(target: &str) -> String {
    let name: String =
        target.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("{AUTH_VAR}_{name}")
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
    NotUnicode(String),
}

impl ConnectOptions {
    /// Reads the options from the process environment.
    pub fn from_env() -> Result<ConnectOptions, ConnectConfigError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// These options with the credentials of the variable `name` (a target's
    /// `JONES_SYNC_ZK_AUTH_<TARGET>`, [`target_auth_var`]) when `var` (an environment
    /// lookup) has it set, else the common ones.
    pub fn with_auth_var(
        mut self,
        name: &str,
        var: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<ConnectOptions, ConnectConfigError> {
        match var(name) {
            Some(value) if !value.is_empty() => {
                let text = value.into_string().map_err(|_| ConnectConfigError::NotUnicode(name.to_string()))?;
                self.auth = Some(Credentials::parse(&text, name)?);
                Ok(self)
            }
            _ => Ok(self),
        }
    }

    /// Reads the options from `var` (an environment lookup), for tests.
    pub fn from_vars(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<ConnectOptions, ConnectConfigError> {
        let text = |name: &'static str| -> Result<Option<String>, ConnectConfigError> {
            match var(name) {
                None => Ok(None),
                Some(value) if value.is_empty() => Ok(None),
                Some(value) => {
                    value.into_string().map(Some).map_err(|_| ConnectConfigError::NotUnicode(name.to_string()))
                }
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

    #[test]
    fn each_target_has_a_credentials_variable_of_its_own() {
        assert_eq!(target_auth_var("use1-canary"), "JONES_SYNC_ZK_AUTH_USE1_CANARY");
        assert_eq!(target_auth_var("eu.west"), "JONES_SYNC_ZK_AUTH_EU_WEST");
        let vars = |name: &str| (name == "JONES_SYNC_ZK_AUTH_A").then(|| "a:b".into());
        let common = ConnectOptions::from_vars(|name| (name == AUTH_VAR).then(|| "c:d".into())).unwrap();
        assert_eq!(common.clone().with_auth_var("JONES_SYNC_ZK_AUTH_A", vars).unwrap().auth.unwrap().user(), "a");
        assert_eq!(common.with_auth_var("JONES_SYNC_ZK_AUTH_B", vars).unwrap().auth.unwrap().user(), "c");
    }

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

    fn connect(text: &str) -> Result<String, String> {
        check_connect_string(text).map(|c| c.text)
    }

    #[test]
    fn good_connect_strings_pass_and_a_trailing_slash_is_dropped() {
        for text in ["zk1:2181", "zk1", "10.0.0.1:2181,10.0.0.2:2182/jones/prod", "tcp+tls://zk1:2281", "[::1]:2181"] {
            assert_eq!(connect(text).as_deref(), Ok(text), "{text}");
        }
        assert_eq!(connect("zk1:2181/jones/").as_deref(), Ok("zk1:2181/jones"));
        assert_eq!(connect("zk1:2181/").as_deref(), Ok("zk1:2181"));
        assert_eq!(connect("tcp://zk1:2181,zk2/a/").as_deref(), Ok("tcp://zk1:2181,zk2/a"));
        let checked = check_connect_string("zk1.example:2181,10.0.0.2,[::1]:2182").unwrap();
        assert_eq!(checked.names, [("zk1.example".to_string(), 2181)]);
    }

    /// Regression: these reached the client crate, which said "empty node is not allowed in path",
    /// "empty connect string" or "invalid address", or waited for the whole timeout.
    #[test]
    fn bad_connect_strings_say_what_is_wrong_and_what_to_write() {
        let err = |text: &str| connect(text).unwrap_err();
        let form =
            "write `host:port[,host:port...][/chroot]`, e.g. `zk1:2181,zk2:2181/jones` (`tcp+tls://host:port` for TLS)";
        assert_eq!(err(""), format!("it is empty; {form}"));
        assert_eq!(
            err("http://zk1:2181"),
            format!("`http://` is not a ZooKeeper address: a server is `host:port`, without a URL scheme; {form}")
        );
        assert!(err("zookeeper://zk1:2181/jones").starts_with("`zookeeper://` is not a ZooKeeper address"));
        assert_eq!(
            err("zk1:2181\n"),
            format!(
                "it contains white space (a line break or a space copied along with it?); write it without, as {}",
                &form[6..]
            )
        );
        assert!(err("zk1:2181, zk2:2181").starts_with("it contains white space"));
        assert_eq!(err("zk1:2181,"), format!("it ends with a comma; {form}"));
        assert_eq!(err("zk1:2181,,zk2:2181"), format!("it has an empty server between two commas; {form}"));
        assert_eq!(
            err("zk1:2181/jones,zk2:2181"),
            "a chroot (`/jones`) goes once, after the last server: write `host:port,host:port/chroot`"
        );
        assert_eq!(err("zk1:http"), format!("the port of `zk1:http` is not a port number (1 to 65535); {form}"));
        assert_eq!(err("zk1:0"), format!("the port of `zk1:0` is not a port number (1 to 65535); {form}"));
        assert_eq!(err("zk1:70000"), format!("the port of `zk1:70000` is not a port number (1 to 65535); {form}"));
        assert_eq!(err(":2181"), format!("a server has no host (`:2181`); {form}"));
        assert_eq!(err("user@zk1:2181"), format!("`user@zk1` is not a host name or an IP address; {form}"));
        assert_eq!(err("::1:2181"), "`::1:2181` has more than one `:`; write an IPv6 server as `[::1]:2181`");
        assert_eq!(err("[zk1]:2181"), "`zk1` in brackets is not an IPv6 address; write an IPv6 server as `[::1]:2181`");
        assert_eq!(
            err("zk1:2181/a//b"),
            "the chroot `/a//b` has an empty node name (`//`); write a path such as `/jones`"
        );
        assert!(err("zk1:2181/a/../b").contains("`.` or `..`"));
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
