//! Which scenarios run: selection by path, tag and text, and the `requires`
//! of each scenario against what the target declares (unmet → skipped, with
//! the reason).

use crate::scenario::Scenario;
use crate::target::Target;

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Keep scenarios with any of these tags (all when empty).
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    /// Keep scenarios that match any of these (all when empty).
    pub filter: Vec<String>,
    /// Leave out scenarios that match any of these.
    pub exclude: Vec<String>,
}

/// A scenario matches a pattern when its id, title or a covered catalogue
/// id contains the text (any case), or when the pattern holds `*` and
/// matches the whole id as a glob.
pub fn matches(s: &Scenario, pattern: &str) -> bool {
    if pattern.contains('*') {
        return glob(pattern, &s.id) || s.covers.iter().any(|c| glob(pattern, c));
    }
    let f = pattern.to_ascii_lowercase();
    s.id.to_ascii_lowercase().contains(&f)
        || s.title.to_ascii_lowercase().contains(&f)
        || s.covers.iter().any(|c| c.to_ascii_lowercase().contains(&f))
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// Tags asked for that no scenario carries, each with a close known one.
pub fn unknown_tags(scenarios: &[Scenario], asked: &[String]) -> Vec<String> {
    let mut known: Vec<&str> = scenarios
        .iter()
        .flat_map(|s| s.tags.iter().map(String::as_str))
        .collect();
    known.sort_unstable();
    known.dedup();
    asked
        .iter()
        .filter(|t| !known.contains(&t.as_str()))
        .map(
            |t| match crate::diag::did_you_mean(t, known.iter().copied()) {
                Some(c) => format!("`{t}` (did you mean `{c}`?)"),
                None => format!("`{t}`"),
            },
        )
        .collect()
}

/// Every tag the scenarios carry.
pub fn known_tags(scenarios: &[Scenario]) -> Vec<String> {
    let mut known: Vec<String> = scenarios.iter().flat_map(|s| s.tags.clone()).collect();
    known.sort();
    known.dedup();
    known
}

/// Tags that are skipped unless asked for by `--tag`.
pub const OPT_IN_TAGS: [&str; 1] = ["intrusive"];

pub fn select(scenarios: Vec<Scenario>, sel: &Selection) -> Vec<Scenario> {
    scenarios
        .into_iter()
        .filter(|s| sel.tags.is_empty() || s.tags.iter().any(|t| sel.tags.contains(t)))
        .filter(|s| !s.tags.iter().any(|t| sel.skip_tags.contains(t)))
        .filter(|s| {
            OPT_IN_TAGS
                .iter()
                .all(|opt| !s.tags.iter().any(|t| t == opt) || sel.tags.iter().any(|t| t == opt))
        })
        .filter(|s| sel.filter.is_empty() || sel.filter.iter().any(|f| matches(s, f)))
        .filter(|s| !sel.exclude.iter().any(|f| matches(s, f)))
        .collect()
}

/// Why the scenario cannot run against this target, if it cannot.
pub fn unmet(s: &Scenario, t: &Target) -> Option<String> {
    let r = &s.requires;
    let b = &t.behaviour;
    let declared = |what: &str, want: String, have: String| {
        Some(format!("needs {what}: {want}; the target declares {have}"))
    };
    if let Some(want) = r.rotation
        && want != b.rotation
    {
        return declared("rotation", yaml_name(want), yaml_name(b.rotation));
    }
    if let Some(want) = r.reuse_detection
        && want != b.reuse_detection
    {
        return declared(
            "reuse_detection",
            yaml_name(want),
            yaml_name(b.reuse_detection),
        );
    }
    if let Some(want) = r.refresh_expiry
        && want != b.refresh_expiry
    {
        return declared(
            "refresh_expiry",
            yaml_name(want),
            yaml_name(b.refresh_expiry),
        );
    }
    if let Some(want) = r.grace_period
        && want != (b.grace_period_s > 0)
    {
        let want = if want {
            "a grace period"
        } else {
            "no grace period"
        };
        return declared(
            "grace period",
            want.into(),
            format!("grace_period_s: {}", b.grace_period_s),
        );
    }
    let primary = t.client("primary");
    if let Some(want) = r.dpop
        && want != primary.is_some_and(|c| c.dpop.is_some())
    {
        return Some(if want {
            "needs a DPoP client: clients.primary.dpop is not declared".into()
        } else {
            "needs a client without DPoP: clients.primary.dpop is declared".into()
        });
    }
    if let Some(want) = r.dpop_nonce
        && want != primary.is_some_and(|c| c.dpop.is_some() && c.dpop_nonce)
    {
        return Some(if want {
            "needs a server that demands DPoP nonces: declare clients.primary.dpop.nonce: true"
                .into()
        } else {
            "needs a server that does not demand DPoP nonces".into()
        });
    }
    if let Some(want) = r.dpop_bound
        && want != primary.is_some_and(|c| c.dpop.is_some() && c.dpop_binds_refresh)
    {
        return Some(if want {
            "needs refresh tokens bound to the DPoP key: declare clients.primary.dpop (binds_refresh_tokens: true for a confidential client; RFC 9449 §5 binds a public client's)".into()
        } else {
            "needs DPoP refresh tokens that are not bound to the key".into()
        });
    }
    if let Some(want) = r.grace_returns
        && want != b.grace_returns
    {
        return declared("grace_returns", yaml_name(want), yaml_name(b.grace_returns));
    }
    if let Some(want) = r.grace_reuse_limit
        && Some(want) != b.grace_reuse_limit
    {
        return declared(
            "grace_reuse_limit",
            want.to_string(),
            b.grace_reuse_limit
                .map_or("none".to_string(), |n| n.to_string()),
        );
    }
    if let Some(want) = r.grace_reuse_limited
        && want != b.grace_reuse_limit.is_some()
    {
        return declared(
            "grace_reuse_limit",
            if want { "a limit" } else { "none" }.into(),
            b.grace_reuse_limit
                .map_or("none".to_string(), |n| n.to_string()),
        );
    }
    if let Some(want) = r.refresh_token_max_lifetime
        && want != b.refresh_token_max_lifetime_s.is_some()
    {
        return Some(format!(
            "needs {} absolute refresh-token lifetime (behaviour.refresh_token_max_lifetime_s)",
            if want { "an" } else { "no" }
        ));
    }
    if let Some(want) = r.id_token_on_refresh
        && want != b.id_token_on_refresh
    {
        return declared(
            "id_token_on_refresh",
            want.to_string(),
            b.id_token_on_refresh.to_string(),
        );
    }
    if let Some(want) = r.refresh_token_issued
        && want != b.refresh_token_issued
    {
        return declared(
            "refresh_token_issued",
            want.to_string(),
            b.refresh_token_issued.to_string(),
        );
    }
    if !r.client_auth.is_empty() {
        let have = t.client("primary").map(|c| c.auth);
        if !have.is_some_and(|h| r.client_auth.contains(&h)) {
            let want: Vec<&str> = r.client_auth.iter().map(|m| m.as_str()).collect();
            return Some(format!(
                "needs the primary client to authenticate with {}",
                want.join(" or ")
            ));
        }
    }
    if let Some(want) = r.user_credentials
        && want != t.password_grant.user_credentials
    {
        return declared(
            "password_grant.user_credentials",
            yaml_name(want),
            yaml_name(t.password_grant.user_credentials),
        );
    }
    if r.revocation_endpoint == Some(true) && t.revocation_endpoint.is_none() {
        return Some("needs a revocation_endpoint".into());
    }
    if r.introspection_endpoint == Some(true) && t.introspection_endpoint.is_none() {
        return Some("needs an introspection_endpoint".into());
    }
    if r.introspects_refresh_tokens == Some(true) && t.introspection.refresh_tokens != Some(true) {
        return Some(format!(
            "needs introspection.refresh_tokens: true; the target declares {} (RFC 7662 does not oblige a server to introspect refresh tokens)",
            match t.introspection.refresh_tokens {
                Some(false) => "false",
                _ => "nothing",
            }
        ));
    }
    if let Some(want) = r.login
        && want != t.login.grant()
    {
        return Some(format!(
            "not applicable: it needs a login by {want}, and the target signs in with {} (login.grant)",
            t.login.grant()
        ));
    }
    if r.public_client == Some(true)
        && !t
            .client("public")
            .is_some_and(|c| c.auth == crate::target::AuthMethod::None)
    {
        return Some(
            "needs a public client: declare clients.public with `auth: none` (RFC 6749 §2.1)"
                .into(),
        );
    }
    if r.tracks_assertion_jti == Some(true)
        && !matches!(&t.login, crate::target::Login::JwtBearer(a) if a.tracks_jti)
    {
        return Some(
            "needs login.tracks_jti: true (RFC 7523 §3 lets a server track assertion jtis; it need not)"
                .into(),
        );
    }
    if r.fresh_login == Some(true) {
        match t.login {
            crate::target::Login::Command(_) => {
                return Some(
                    "not applicable: a login.command may reuse a session signed in long before, so no login here is known to be fresh"
                        .into(),
                );
            }
            // The user signs in to the client, not to this server: when
            // that happened is the assertion's business (RFC 7523 §2.1).
            crate::target::Login::JwtBearer(_) => {
                return Some(
                    "not applicable: with a JWT user assertion the user does not sign in to this server, so there is no fresh authentication whose time to judge"
                        .into(),
                );
            }
            _ => {}
        }
    }
    if r.clock_control == Some(true) && t.clock_control.is_none() {
        return Some("needs clock_control".into());
    }
    let uses_password = s.steps.iter().any(|st| {
        matches!(&st.action, crate::scenario::compile::Action::Grant(g) if g.grant_type == crate::wire::grant::PASSWORD)
    });
    if uses_password && !t.password_offered() {
        return Some(match t.password_grant.enabled {
            Some(false) => "not applicable: it sends the password grant, which the target does not offer (password_grant.enabled: false)".into(),
            _ => format!(
                "not applicable: it sends the password grant, and the target signs in with {} (login.grant); declare password_grant.enabled: true if the server offers the password grant too",
                t.login.grant()
            ),
        });
    }
    for c in &s.needs.clients {
        if t.client(c).is_none() {
            return Some(format!("needs a client named `{c}` in the target"));
        }
    }
    for u in &s.needs.users {
        if t.user(u).is_none() {
            return Some(format!("needs a user named `{u}` in the target"));
        }
    }
    if !s.requires.declared.is_empty() {
        let b = serde_json::to_value(&t.behaviour).unwrap_or_default();
        for field in &s.requires.declared {
            if b.get(field).is_none_or(serde_json::Value::is_null) {
                return Some(format!("needs the target to declare behaviour.{field}"));
            }
        }
    }
    for sc in &s.needs.scopes {
        if !t.scopes.contains_key(sc) {
            return Some(format!(
                "needs a scope named `{sc}` under `scopes` in the target"
            ));
        }
    }
    None
}

/// A value as target and scenario files write it (`basic_header`, not
/// `BasicHeader`).
fn yaml_name<T: serde::Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn globs_match_whole_ids() {
        use super::glob;
        assert!(glob("rotation/*", "rotation/old-refused"));
        assert!(glob("*/old-*", "rotation/old-refused"));
        assert!(glob("RU-*", "RU-FAMILY"));
        assert!(!glob("rotation/*", "reuse/family-revoked"));
        assert!(!glob("rotation", "rotation/chain"));
        assert!(glob("*", ""));
    }
}
