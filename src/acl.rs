//! ZooKeeper ACL entries as `jones-sync.toml` writes them (`[zookeeper] acl`), in the notation of
//! ZooKeeper's own CLI: `scheme:id:perms`, perms a set of `c` (create), `d` (delete), `r` (read),
//! `w` (write), `a` (admin). `digest` ids hold a colon themselves (`digest:deploy:<hash>:cdrwa`), so
//! the scheme ends at the first colon and the perms start after the last.
//!
//! Entries compare as sets: ZooKeeper keeps an ACL's order, but it does not matter for access.
//! Plain data: [`crate::zk::acl`] converts entries to and from the client's type.

use std::fmt;

/// One ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct AclEntry {
    pub scheme: String,
    pub id: String,
    /// ZooKeeper's permission bits: read 1, write 2, create 4, delete 8, admin 16.
    pub perms: u8,
}

/// Permission letters in the order ZooKeeper's CLI prints them, with their bits.
const PERMS: [(char, u8); 5] = [('c', 4), ('d', 8), ('r', 1), ('w', 2), ('a', 16)];

impl std::str::FromStr for AclEntry {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        const FORM: &str = "expected `scheme:id:perms` such as `world:anyone:r` or `digest:deploy:<hash>:cdrwa`";
        let (Some((scheme, rest)), Some((_, letters))) = (text.split_once(':'), text.rsplit_once(':')) else {
            return Err(format!("invalid ACL `{text}`: {FORM}"));
        };
        let Some(id) = rest.strip_suffix(letters).and_then(|id| id.strip_suffix(':')) else {
            return Err(format!("invalid ACL `{text}`: {FORM}"));
        };
        if scheme.is_empty() {
            return Err(format!("invalid ACL `{text}`: the scheme is empty; {FORM}"));
        }
        let mut perms = 0;
        for letter in letters.chars() {
            match PERMS.iter().find(|(c, _)| *c == letter) {
                Some((_, bit)) if perms & bit == 0 => perms |= bit,
                Some(_) => return Err(format!("invalid ACL `{text}`: permission `{letter}` is given twice")),
                None => {
                    return Err(format!(
                        "invalid ACL `{text}`: unknown permission `{letter}` (permissions are letters of `cdrwa`)"
                    ));
                }
            }
        }
        if perms == 0 {
            return Err(format!("invalid ACL `{text}`: no permissions (give letters of `cdrwa`)"));
        }
        match scheme {
            "world" if id != "anyone" => {
                return Err(format!("invalid ACL `{text}`: the `world` scheme has one id, `anyone`"));
            }
            "digest" if !is_digest_id(id) => {
                return Err(format!(
                    "invalid ACL `{text}`: a digest id is `user:<base64 SHA-1 of user:password>` (28 characters \
                     after the colon), never the password itself; compute it with \
                     `echo -n 'user:password' | openssl dgst -binary -sha1 | openssl base64`"
                ));
            }
            "auth" => {
                return Err(format!(
                    "invalid ACL `{text}`: the `auth` scheme means whoever applies, so a plan cannot compare it; \
                     name the identity with `digest:<user>:<hash>:{letters}`"
                ));
            }
            _ => {}
        }
        Ok(AclEntry { scheme: scheme.to_string(), id: id.to_string(), perms })
    }
}

impl From<AclEntry> for String {
    fn from(entry: AclEntry) -> String {
        entry.to_string()
    }
}

impl TryFrom<String> for AclEntry {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

/// `user:<28 base64 characters>`: what ZooKeeper's `DigestAuthenticationProvider` stores.
fn is_digest_id(id: &str) -> bool {
    let Some((user, hash)) = id.rsplit_once(':') else { return false };
    !user.is_empty()
        && hash.len() == 28
        && hash.ends_with('=')
        && hash[..27].chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

impl fmt::Display for AclEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.scheme, self.id)?;
        for (letter, bit) in PERMS {
            if self.perms & bit != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// An ACL as a sorted set, so that two ACLs compare regardless of order.
pub fn normalized(acl: &[AclEntry]) -> Vec<AclEntry> {
    let mut acl = acl.to_vec();
    acl.sort();
    acl.dedup();
    acl
}

/// Whether a live ACL is the wanted one. ZooKeeper shows a session without the admin permission a
/// digest id with its hash replaced by `x` (`digest:deploy:x`); such an ACL is compared by user
/// and permissions only, since the hash cannot be seen.
pub fn matches(live: &[AclEntry], want: &[AclEntry]) -> bool {
    let redacted = |entry: &AclEntry| entry.scheme == "digest" && entry.id.ends_with(":x");
    if !live.iter().any(redacted) {
        return normalized(live) == normalized(want);
    }
    let redact = |acl: &[AclEntry]| -> Vec<AclEntry> {
        let redacted: Vec<AclEntry> = acl
            .iter()
            .map(|entry| match entry.id.rsplit_once(':') {
                Some((user, _)) if entry.scheme == "digest" => AclEntry { id: format!("{user}:x"), ..entry.clone() },
                _ => entry.clone(),
            })
            .collect();
        normalized(&redacted)
    };
    redact(live) == redact(want)
}

/// `a, b, c` for showing an ACL.
pub fn show(acl: &[AclEntry]) -> String {
    acl.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "deploy:tOZjCThA8OKxtaNg5wuTJhLSUfo=";

    #[test]
    fn parses_and_shows_the_cli_notation() {
        let entry: AclEntry = "world:anyone:r".parse().unwrap();
        assert_eq!(entry, AclEntry { scheme: "world".into(), id: "anyone".into(), perms: 1 });
        let digest: AclEntry = format!("digest:{HASH}:adrwc").parse().unwrap();
        assert_eq!(digest.id, HASH);
        assert_eq!(digest.perms, 31);
        assert_eq!(digest.to_string(), format!("digest:{HASH}:cdrwa"));
        let ip: AclEntry = "ip:10.0.0.0/8:rw".parse().unwrap();
        assert_eq!(ip.to_string(), "ip:10.0.0.0/8:rw");
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        let err = |text: &str| text.parse::<AclEntry>().unwrap_err();
        assert_eq!(
            err("anyone"),
            "invalid ACL `anyone`: expected `scheme:id:perms` such as `world:anyone:r` or `digest:deploy:<hash>:cdrwa`"
        );
        assert_eq!(
            err("world:anyone:rx"),
            "invalid ACL `world:anyone:rx`: unknown permission `x` (permissions are letters of `cdrwa`)"
        );
        assert_eq!(err("world:anyone:rr"), "invalid ACL `world:anyone:rr`: permission `r` is given twice");
        assert_eq!(err("world:anyone:"), "invalid ACL `world:anyone:`: no permissions (give letters of `cdrwa`)");
        assert_eq!(err("world:everyone:r"), "invalid ACL `world:everyone:r`: the `world` scheme has one id, `anyone`");
        assert!(err("digest:deploy:secret:cdrwa").contains("never the password itself"));
        assert!(err("auth::cdrwa").contains("name the identity"));
    }

    #[test]
    fn a_redacted_digest_compares_by_user_and_permissions() {
        let acl = |texts: &[&str]| -> Vec<AclEntry> { texts.iter().map(|t| t.parse::<AclEntry>().unwrap()).collect() };
        let want = acl(&["world:anyone:r", &format!("digest:{HASH}:cdrwa")]);
        let seen = vec![
            AclEntry { scheme: "digest".into(), id: "deploy:x".into(), perms: 31 },
            AclEntry { scheme: "world".into(), id: "anyone".into(), perms: 1 },
        ];
        assert!(matches(&seen, &want));
        let mut fewer = seen.clone();
        fewer[0].perms = 1;
        assert!(!matches(&fewer, &want));
        assert!(!matches(&acl(&["world:anyone:cdrwa"]), &want));
    }

    #[test]
    fn acls_compare_as_sets() {
        let a: Vec<AclEntry> = ["world:anyone:r", "ip:1.2.3.4:cdrwa"].iter().map(|t| t.parse().unwrap()).collect();
        let b: Vec<AclEntry> = a.iter().rev().cloned().collect();
        assert_eq!(normalized(&a), normalized(&b));
    }
}
