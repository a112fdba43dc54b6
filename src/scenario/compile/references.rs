//! What a template may name: the built-in roots and their fields, and the
//! members a step captures; a near miss is a typo with a hint.

use super::*;

/// Template roots that are not step names.
pub const BUILTIN_ROOTS: [&str; 7] = [
    "random",
    "behaviour",
    "scopes",
    "clients",
    "users",
    "target",
    "password_grant",
];

/// What each built-in root offers: `(root, fields)`; `clients` and
/// `users` take a name before the field, `scopes` only a name.
const BUILTIN_FIELDS: [(&str, &[&str]); 4] = [
    ("clients", &["id", "auth", "secret"]),
    ("users", &["username", "password"]),
    ("target", &["token_endpoint", "issuer", "login_grant"]),
    ("password_grant", &["scope"]),
];

/// Why a path under a built-in root cannot resolve, with a hint.
pub(super) fn builtin_path_problem(p: &[&str]) -> Option<(String, Option<String>)> {
    let field_of = |root: &str| {
        BUILTIN_FIELDS
            .iter()
            .find(|(r, _)| *r == root)
            .map_or(&[][..], |(_, f)| *f)
    };
    let unknown = |what: String, field: &str, known: &[&str]| {
        Some((
            format!("{what}: `{field}` is not one of {}", known.join(", ")),
            did_you_mean(field, known.iter().copied()).map(|c| format!("did you mean `{c}`?")),
        ))
    };
    let shape = |want: &str| Some((format!("has the wrong shape: write `{want}`"), None));
    match p {
        ["random"] => None,
        ["random", ..] => shape("random"),
        ["scopes", _] => None,
        ["scopes", ..] => shape("scopes.NAME"),
        ["behaviour", field] => {
            if crate::target::BEHAVIOUR_FIELDS.contains(field) {
                None
            } else {
                unknown("behaviour".into(), field, &crate::target::BEHAVIOUR_FIELDS)
            }
        }
        ["behaviour", ..] => shape("behaviour.FIELD"),
        [root @ ("clients" | "users"), name, field] => {
            let known = field_of(root);
            if known.contains(field) {
                None
            } else {
                unknown(format!("{root}.{name}"), field, known)
            }
        }
        ["clients", ..] => shape("clients.NAME.id|auth|secret"),
        ["users", ..] => shape("users.NAME.username|password"),
        [root @ ("target" | "password_grant"), field] => {
            let known = field_of(root);
            if known.contains(field) {
                None
            } else {
                unknown(root.to_string(), field, known)
            }
        }
        [root, ..] => shape(&format!("{root}.{}", field_of(root).join("|"))),
        [] => None,
    }
}

/// Members a response may hold (RFC 6749 §5.1 and §5.2, RFC 7662 §2.2,
/// RFC 8693, OpenID Connect), the capture's `status`, and what an
/// authorization step captures: a name close to one of them but not it is
/// a typo (`refresh_tokn`), which would render as nothing at run time.
pub const KNOWN_MEMBERS: [&str; 36] = [
    "access_token",
    "granted_scope",
    "live_refresh_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "refresh_token_expires_in",
    "scope",
    "id_token",
    "error",
    "error_description",
    "error_uri",
    "issued_token_type",
    "active",
    "client_id",
    "username",
    "exp",
    "iat",
    "nbf",
    "sub",
    "aud",
    "iss",
    "jti",
    "status",
    "code",
    "state",
    "sent_state",
    "nonce",
    "code_verifier",
    "redirect_uri",
    "authorization_request",
    "hops",
    "state_echoed",
    "iss_matches",
    "code_challenge",
    "authenticated_at",
];

/// Why a path under a step name cannot resolve.
pub(super) fn step_path_problem(p: &[&str]) -> Option<(String, Option<String>)> {
    match p {
        [_, member] if !KNOWN_MEMBERS.contains(member) => {
            did_you_mean(member, KNOWN_MEMBERS).map(|close| {
                (
                    format!("names `{member}`, which no response holds"),
                    Some(format!("did you mean `{close}`?")),
                )
            })
        }
        [_, _] | [_, "header", _] | [_, "claims", _] => None,
        [step, ..] => Some((
            format!(
                "has the wrong shape: write `{step}.MEMBER`, `{step}.status`, `{step}.header.NAME` or `{step}.claims.CLAIM`"
            ),
            None,
        )),
        [] => None,
    }
}
