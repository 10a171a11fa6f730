//! ZooKeeper ACL entries as `jones-sync.toml` writes them (`[zookeeper] acl`), in the notation of
//! ZooKeeper's own CLI: `scheme:id:perms`, perms a set of `c` (create), `d` (delete), `r` (read),
//! `w` (write), `a` (admin). `digest` ids hold a colon themselves (`digest:deploy:<hash>:cdrwa`), so
//! the scheme ends at the first colon and the perms start after the last.
//!
//! Entries compare as sets: ZooKeeper keeps an ACL's order, but it does not matter for access.
//! Plain data: [`crate::zk::acl`] converts entries to and from the client's type.
//!
//! Every node jones-sync creates carries the configured ACL, and jones-sync must keep using those
//! nodes: read them (`r`, every plan), write their data (`w`), create children (`c`: environments,
//! audit entries, locks) and delete them (`d`: environments, pruned services, old audit entries,
//! locks). An ACL that withholds one of these from the identity jones-sync connects as locks
//! jones-sync out of its own nodes, and only someone else (for `world:anyone:r`, only a ZooKeeper
//! superuser) can undo it. [`lockout`] finds such an ACL: offline ([`Connecting::Anyone`], for
//! validation) when no identity one jones-sync session can hold gets all four, and before an apply
//! ([`Connecting::As`]) when the identity of its credentials does not. A session's identities are
//! `world:anyone`, at most one digest (jones-sync authenticates once), and what ZooKeeper derives
//! from the connection (`ip`, `x509`, `sasl`, or a custom scheme): those cannot be known before
//! connecting, so entries of such schemes are assumed to match (the check never refuses an ACL
//! that may work; it refuses the ones that cannot). The admin permission `a` is not needed to use
//! the nodes, only to change their ACL later; an ACL without it is allowed.

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

/// The permissions jones-sync needs on every node it creates: read, write, create, delete.
pub const NEEDED: u8 = 1 | 2 | 4 | 8;

/// Who jones-sync connects as, for [`lockout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connecting<'a> {
    /// Not known (validation): any one digest user, or none.
    Anyone,
    /// Known: without credentials (`None`), or as this digest id (`user:<base64 SHA-1>`).
    As(Option<&'a str>),
}

/// Why `acl` would lock jones-sync out of the nodes it creates with it, when it would (see the
/// module docs): which of the [`NEEDED`] permissions the identity it connects as would lack.
pub fn lockout(acl: &[AclEntry], connecting: Connecting<'_>) -> Option<String> {
    let is_digest = |entry: &&AclEntry| entry.scheme == "digest";
    // What every session gets: `world:anyone`, and schemes that cannot be judged before connecting.
    let common = acl.iter().filter(|e| !is_digest(e)).fold(0, |all, e| all | e.perms);
    let digest = |id: &str| acl.iter().filter(is_digest).filter(|e| e.id == id).fold(0, |all, e| all | e.perms);
    let union = acl.iter().fold(0, |all, e| all | e.perms);
    let undo = if union & ADMIN != 0 {
        "only an identity with the admin permission `a` (or a ZooKeeper superuser) could undo that"
    } else {
        "nobody has the admin permission `a`, so only a ZooKeeper superuser could undo that"
    };
    match connecting {
        Connecting::Anyone => {
            let mut candidates =
                std::iter::once(common).chain(acl.iter().filter(is_digest).map(|e| common | digest(&e.id)));
            if candidates.any(|perms| perms & NEEDED == NEEDED) {
                return None;
            }
            let what = if union & NEEDED == NEEDED {
                format!(
                    "gives all of `{}` to no one identity (jones-sync authenticates as one digest user)",
                    letters(NEEDED)
                )
            } else {
                format!("gives nobody `{}`", letters(NEEDED & !union))
            };
            Some(format!(
                "`acl` {what}: jones-sync would be locked out of the nodes it creates with it, since it needs {HOW}; \
                 {undo}"
            ))
        }
        Connecting::As(id) => {
            let perms = common | id.map_or(0, digest);
            if perms & NEEDED == NEEDED {
                return None;
            }
            let lacking = letters(NEEDED & !perms);
            let holders: Vec<String> = acl
                .iter()
                .filter(|e| is_digest(e) && e.perms & NEEDED & !perms != 0)
                .map(|e| format!("`digest:{}`", user_of(&e.id)))
                .collect();
            let who = match id {
                None => "connects without credentials".to_string(),
                Some(id) => {
                    let user = user_of(id);
                    if acl.iter().filter(is_digest).any(|e| user_of(&e.id) == user && e.id != id) {
                        format!("authenticates as `{user}` with another password than the ACL's `digest:{user}`")
                    } else {
                        format!("authenticates as `{user}`")
                    }
                }
            };
            let only = match holders.is_empty() {
                true => String::new(),
                false => {
                    format!(", which only {} get{}", holders.join(", "), if holders.len() == 1 { "s" } else { "" })
                }
            };
            Some(format!(
                "`[zookeeper] acl` would lock this session out of the nodes it creates: it {who}, so it would lack \
                 `{lacking}`{only}. jones-sync needs {HOW}; {undo}. Set {var} to the `user:password` of an identity \
                 the ACL gives `{all}`, or change the ACL",
                all = letters(NEEDED),
                var = crate::zk::connect::AUTH_VAR,
            ))
        }
    }
}

/// ZooKeeper's admin permission bit.
const ADMIN: u8 = 16;

const HOW: &str = "`r` to read them, `w` to write their data, `c` to add environments, audit entries and locks, and `d` to remove them";

/// The user of a digest id (`user:hash`).
fn user_of(id: &str) -> &str {
    id.rsplit_once(':').map_or(id, |(user, _)| user)
}

/// Permission letters of `perms`, in ZooKeeper's order.
fn letters(perms: u8) -> String {
    PERMS.iter().filter(|(_, bit)| perms & bit != 0).map(|(c, _)| *c).collect()
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
