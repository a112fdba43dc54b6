//! Planted defects: each [`Fault`] makes the mock misbehave in one realistic
//! way, so that the conformance checks can be shown to catch it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One planted defect. Several may be combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    RotationKeepsOld,
    NoFamilyRevoke,
    SameRefreshToken,
    CrossClient,
    ScopeWiden,
    ExpiredRefreshAccepted,
    Race,
    #[serde(rename = "errors_as_200")]
    ErrorsAs200,
    NoStoreMissing,
    IdTokenSubChanges,
    EmptyErrorBody,
    BearerChallenge,
    HintRequired,
    RefusedRefreshRevokes,
    KeepsNarrowedScope,
    SlowWrongPassword,
    RevokeRace,
    SameSecondStale,
    GraceLimitIgnored,
    GraceWrongSuccessor,
    DpopUnbound,
    DpopReplayAccepted,
    DpopIgnoresHtu,
    CodeReusable,
    TokensKeptAfterCodeReuse,
    CodeNotBound,
    RedirectUriUnchecked,
    PkceNotEnforced,
    PkceDowngrade,
    PublicRefreshUnbound,
    AssertionExpiredAccepted,
    AssertionAudienceIgnored,
    CodeNeverExpires,
    StateDropped,
    NonceDropped,
    AuthTimeStale,
    AssertionSignatureUnchecked,
    AssertionReplayAccepted,
    RefreshRefusedAsInvalidRequest,
    IntrospectionUnauthenticated,
    IntrospectionExpWrong,
    MissingGrantTypeUnsupported,
    DuplicateParamsAccepted,
    GetServed,
    PasswordRefusedAsAccessDenied,
}

impl Fault {
    pub const ALL: [Fault; 45] = [
        Fault::RotationKeepsOld,
        Fault::NoFamilyRevoke,
        Fault::SameRefreshToken,
        Fault::CrossClient,
        Fault::ScopeWiden,
        Fault::ExpiredRefreshAccepted,
        Fault::Race,
        Fault::ErrorsAs200,
        Fault::NoStoreMissing,
        Fault::IdTokenSubChanges,
        Fault::EmptyErrorBody,
        Fault::BearerChallenge,
        Fault::HintRequired,
        Fault::RefusedRefreshRevokes,
        Fault::KeepsNarrowedScope,
        Fault::SlowWrongPassword,
        Fault::RevokeRace,
        Fault::SameSecondStale,
        Fault::GraceLimitIgnored,
        Fault::GraceWrongSuccessor,
        Fault::DpopUnbound,
        Fault::DpopReplayAccepted,
        Fault::DpopIgnoresHtu,
        Fault::CodeReusable,
        Fault::TokensKeptAfterCodeReuse,
        Fault::CodeNotBound,
        Fault::RedirectUriUnchecked,
        Fault::PkceNotEnforced,
        Fault::PkceDowngrade,
        Fault::PublicRefreshUnbound,
        Fault::AssertionExpiredAccepted,
        Fault::AssertionAudienceIgnored,
        Fault::CodeNeverExpires,
        Fault::StateDropped,
        Fault::NonceDropped,
        Fault::AuthTimeStale,
        Fault::AssertionSignatureUnchecked,
        Fault::AssertionReplayAccepted,
        Fault::RefreshRefusedAsInvalidRequest,
        Fault::IntrospectionUnauthenticated,
        Fault::IntrospectionExpWrong,
        Fault::MissingGrantTypeUnsupported,
        Fault::DuplicateParamsAccepted,
        Fault::GetServed,
        Fault::PasswordRefusedAsAccessDenied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::RotationKeepsOld => "rotation_keeps_old",
            Fault::NoFamilyRevoke => "no_family_revoke",
            Fault::SameRefreshToken => "same_refresh_token",
            Fault::CrossClient => "cross_client",
            Fault::ScopeWiden => "scope_widen",
            Fault::ExpiredRefreshAccepted => "expired_refresh_accepted",
            Fault::Race => "race",
            Fault::ErrorsAs200 => "errors_as_200",
            Fault::NoStoreMissing => "no_store_missing",
            Fault::IdTokenSubChanges => "id_token_sub_changes",
            Fault::EmptyErrorBody => "empty_error_body",
            Fault::BearerChallenge => "bearer_challenge",
            Fault::HintRequired => "hint_required",
            Fault::RefusedRefreshRevokes => "refused_refresh_revokes",
            Fault::KeepsNarrowedScope => "keeps_narrowed_scope",
            Fault::SlowWrongPassword => "slow_wrong_password",
            Fault::RevokeRace => "revoke_race",
            Fault::SameSecondStale => "same_second_stale",
            Fault::GraceLimitIgnored => "grace_limit_ignored",
            Fault::GraceWrongSuccessor => "grace_wrong_successor",
            Fault::DpopUnbound => "dpop_unbound",
            Fault::DpopReplayAccepted => "dpop_replay_accepted",
            Fault::DpopIgnoresHtu => "dpop_ignores_htu",
            Fault::CodeReusable => "code_reusable",
            Fault::TokensKeptAfterCodeReuse => "tokens_kept_after_code_reuse",
            Fault::CodeNotBound => "code_not_bound",
            Fault::RedirectUriUnchecked => "redirect_uri_unchecked",
            Fault::PkceNotEnforced => "pkce_not_enforced",
            Fault::PkceDowngrade => "pkce_downgrade",
            Fault::PublicRefreshUnbound => "public_refresh_unbound",
            Fault::AssertionExpiredAccepted => "assertion_expired_accepted",
            Fault::AssertionAudienceIgnored => "assertion_audience_ignored",
            Fault::CodeNeverExpires => "code_never_expires",
            Fault::StateDropped => "state_dropped",
            Fault::NonceDropped => "nonce_dropped",
            Fault::AuthTimeStale => "auth_time_stale",
            Fault::AssertionSignatureUnchecked => "assertion_signature_unchecked",
            Fault::AssertionReplayAccepted => "assertion_replay_accepted",
            Fault::RefreshRefusedAsInvalidRequest => "refresh_refused_as_invalid_request",
            Fault::IntrospectionUnauthenticated => "introspection_unauthenticated",
            Fault::IntrospectionExpWrong => "introspection_exp_wrong",
            Fault::MissingGrantTypeUnsupported => "missing_grant_type_unsupported",
            Fault::DuplicateParamsAccepted => "duplicate_params_accepted",
            Fault::GetServed => "get_served",
            Fault::PasswordRefusedAsAccessDenied => "password_refused_as_access_denied",
        }
    }

    /// One line saying what the defect is.
    pub fn description(self) -> &'static str {
        match self {
            Fault::RotationKeepsOld => {
                "a new refresh token is issued but the old one is still accepted"
            }
            Fault::NoFamilyRevoke => {
                "a replayed rotated refresh token is refused but its family survives"
            }
            Fault::SameRefreshToken => {
                "rotation is declared but the same refresh token comes back and stays valid"
            }
            Fault::CrossClient => "any client can use another client's refresh token",
            Fault::ScopeWiden => "a refresh grants scope beyond the original grant",
            Fault::ExpiredRefreshAccepted => "expired refresh tokens are still accepted",
            Fault::Race => "concurrent refreshes of one token can all win (check-then-act window)",
            Fault::ErrorsAs200 => "error responses are sent with status 200",
            Fault::NoStoreMissing => {
                "token responses lack Cache-Control: no-store and Pragma: no-cache"
            }
            Fault::IdTokenSubChanges => "the id_token issued on refresh has a different sub",
            Fault::EmptyErrorBody => {
                "every error is sent with its status but an empty body (no JSON, no `error`)"
            }
            Fault::BearerChallenge => {
                "a failed Basic client authentication gets a Bearer WWW-Authenticate challenge"
            }
            Fault::HintRequired => {
                "revocation and introspection find a token only with the right token_type_hint"
            }
            Fault::RefusedRefreshRevokes => {
                "a refresh refused for the wrong client or bad credentials revokes the token's family"
            }
            Fault::KeepsNarrowedScope => {
                "after a narrowing refresh, the family's scope stays narrowed (the original grant is lost)"
            }
            Fault::SlowWrongPassword => {
                "a wrong password for a known user takes 25 ms longer than an unknown user (enumeration by timing)"
            }
            Fault::RevokeRace => {
                "a refresh racing a revocation issues a successor that outlives the revoked grant (check-then-act, keycloak #51312)"
            }
            Fault::SameSecondStale => {
                "a refresh token rotated away is still accepted within the second of its rotation (keycloak #50999)"
            }
            Fault::GraceLimitIgnored => {
                "graceful rotation accepts the previous token inside the grace period beyond the declared reuse limit"
            }
            Fault::GraceWrongSuccessor => {
                "graceful rotation gives a replay the other successor than declared (a fresh pair for `same`, the same one for `new`)"
            }
            Fault::DpopUnbound => {
                "a DPoP-bound refresh token is accepted without a proof, or with another key's"
            }
            Fault::DpopReplayAccepted => {
                "a DPoP proof is accepted again (its jti is not remembered)"
            }
            Fault::DpopIgnoresHtu => "a DPoP proof for another URI (htu) is accepted",
            Fault::CodeReusable => "an authorization code can be exchanged more than once",
            Fault::TokensKeptAfterCodeReuse => {
                "a reused code is refused but the tokens issued from it stay valid"
            }
            Fault::CodeNotBound => "an authorization code can be exchanged by another client",
            Fault::RedirectUriUnchecked => {
                "any redirect_uri is accepted, at the authorization endpoint and in the exchange"
            }
            Fault::PkceNotEnforced => {
                "a code issued for a PKCE challenge is exchanged without the right verifier"
            }
            Fault::PkceDowngrade => {
                "a code_verifier is accepted for a code issued without a challenge"
            }
            Fault::PublicRefreshUnbound => {
                "a public client's refresh token is neither rotated nor bound to a key"
            }
            Fault::AssertionExpiredAccepted => "an expired JWT user assertion is accepted",
            Fault::AssertionAudienceIgnored => {
                "a JWT user assertion for another audience is accepted"
            }
            Fault::CodeNeverExpires => "an authorization code never expires",
            Fault::StateDropped => "the authorization response leaves out the client's state",
            Fault::NonceDropped => {
                "the id_token of a code exchange lacks the nonce of the authorization request"
            }
            Fault::AuthTimeStale => {
                "id_tokens carry the account's creation time as auth_time, not the login's"
            }
            Fault::AssertionSignatureUnchecked => {
                "a JWT user assertion is accepted whatever key signed it"
            }
            Fault::AssertionReplayAccepted => "a JWT user assertion's jti is accepted again",
            Fault::RefreshRefusedAsInvalidRequest => {
                "every refused refresh token (unknown, rotated, revoked, expired, another client's) is answered invalid_request instead of invalid_grant"
            }
            Fault::IntrospectionUnauthenticated => {
                "the introspection endpoint answers callers without valid client credentials: active false for them, not 401"
            }
            Fault::IntrospectionExpWrong => {
                "introspection gives every token an exp ten minutes from now, whatever its own lifetime"
            }
            Fault::MissingGrantTypeUnsupported => {
                "a token request without grant_type is answered unsupported_grant_type, not invalid_request"
            }
            Fault::DuplicateParamsAccepted => {
                "a token request with a repeated parameter is served (the first value wins)"
            }
            Fault::GetServed => {
                "a GET to the token endpoint, its parameters in the query, is served like a POST"
            }
            Fault::PasswordRefusedAsAccessDenied => {
                "every refused password grant (wrong password, unknown user, a missing one) is answered 403 access_denied, each with its own description"
            }
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name matched no [`Fault`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault `{0}` (faults: {names})", names = Fault::ALL.map(Fault::as_str).join(", "))]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        Fault::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

/// The active faults as a bit set, for cheap checks on the hot path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultSet(u64);

// One bit per fault.
const _: () = assert!(Fault::ALL.len() <= 64);

impl FaultSet {
    pub fn new(faults: &[Fault]) -> FaultSet {
        FaultSet(faults.iter().fold(0, |bits, f| bits | 1 << (*f as u64)))
    }

    pub fn has(self, fault: Fault) -> bool {
        self.0 & (1 << (fault as u64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serde_agrees() {
        for f in Fault::ALL {
            assert_eq!(f.as_str().parse::<Fault>(), Ok(f));
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
            assert!(!f.description().is_empty());
        }
        // Every fault has its own bit.
        for f in Fault::ALL {
            let set = FaultSet::new(&[f]);
            assert!(Fault::ALL.iter().all(|g| set.has(*g) == (*g == f)), "{f:?}");
        }
        let err = "races".parse::<Fault>().unwrap_err().to_string();
        assert!(err.contains("race,"), "{err}");
    }

    #[test]
    fn the_set_holds_exactly_its_members() {
        let set = FaultSet::new(&[Fault::Race, Fault::IdTokenSubChanges]);
        for f in Fault::ALL {
            assert_eq!(
                set.has(f),
                matches!(f, Fault::Race | Fault::IdTokenSubChanges),
                "{f}"
            );
        }
    }
}
